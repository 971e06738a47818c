"""Worst-shape request bodies for bench/memory.sh: each as large as the body limit allows, with
as many values of its kind as the value limit allows and the rest of the room in a string.

    python3 shapes.py SHAPE MAX_BYTES MAX_VALUES > body.json

Shapes (all valid Medusa v1 updates: `metadata` takes any JSON object):
  tiny-array    {"metadata":{"a":[0,0,0,...]}}          one value per two bytes
  small-objects {"metadata":{"a":[{"a":0},{"a":0},...]}} one map per eight bytes
  many-keys     {"metadata":{"k0000001":0,...}}           one member per thirteen bytes
  deep          {"metadata":{"a":[{"a":{"a":...0}},...]}} chains 60 objects deep
  long-string   {"metadata":{"a":"xxxx..."}}              one string of the whole body
Values counted as the gateway counts them: every string, number, literal, array and object
(member names not counted).
"""
import json
import sys


def build(shape, limit, values):
    # The outer object, metadata, and the padding string take three values.
    values -= 3
    if shape == "tiny-array":
        n = min(limit // 2, values - 1)
        members = ['"a":[' + ",".join(["0"] * n) + "]"]
    elif shape == "small-objects":
        n = min(limit // 8, (values - 1) // 2)
        members = ['"a":[' + ",".join(['{"a":0}'] * n) + "]"]
    elif shape == "many-keys":
        n = min(limit // 13, values)
        members = ['"k%07d":0' % i for i in range(n)]
    elif shape == "deep":
        chain = '{"a":' * 60 + "0" + "}" * 60
        n = min(limit // (len(chain) + 1), (values - 1) // 61)
        members = ['"a":[' + ",".join([chain] * n) + "]"]
    elif shape == "long-string":
        members = []
    else:
        raise SystemExit("unknown shape " + shape)
    body = '{"metadata":{' + ",".join(members + ['"pad":""']) + "}}"
    room = limit - len(body) - 16
    if room > 0:
        body = body[: -len('""}}')] + '"' + "x" * room + '"}}'
    return body


if __name__ == "__main__":
    limit, values = int(sys.argv[2]), int(sys.argv[3])
    body = build(sys.argv[1], limit, values)
    json.loads(body)
    assert len(body) <= limit, len(body)
    sys.stdout.write(body)
