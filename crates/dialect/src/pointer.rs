//! JSON Pointers (RFC 6901), parsed once at load into segments.

use std::fmt;

use serde_json::{Map, Value};

/// A parsed JSON Pointer. The empty pointer is the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pointer {
    segments: Vec<String>,
}

impl Pointer {
    /// The pointer to the whole document.
    pub fn root() -> Pointer {
        Pointer::default()
    }

    /// Parses `"/a/b~1c"`. Returns `None` unless it is empty or starts with `/`.
    pub fn parse(s: &str) -> Option<Pointer> {
        if s.is_empty() {
            return Some(Pointer::root());
        }
        let rest = s.strip_prefix('/')?;
        Some(Pointer {
            segments: rest
                .split('/')
                .map(|seg| {
                    // Most segments hold no escape: one copy, not two replacements.
                    if seg.contains('~') {
                        seg.replace("~1", "/").replace("~0", "~")
                    } else {
                        seg.to_owned()
                    }
                })
                .collect(),
        })
    }

    /// The pointer of the (unescaped) `segments`.
    pub(crate) fn of<'s>(segments: impl IntoIterator<Item = &'s str>) -> Pointer {
        Pointer {
            segments: segments.into_iter().map(str::to_owned).collect(),
        }
    }

    /// The segments, unescaped.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// True for the whole-document pointer.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// `self` followed by `other`.
    pub fn join(&self, other: &Pointer) -> Pointer {
        let mut segments = self.segments.clone();
        segments.extend(other.segments.iter().cloned());
        Pointer { segments }
    }

    /// The text of `self` followed by `other` (`self.join(other).to_string()` without the
    /// joined pointer or the formatter: reports name members on every request).
    pub fn join_text(&self, other: &Pointer) -> String {
        let mut out = String::with_capacity(self.text_len() + other.text_len());
        self.push_text(&mut out);
        other.push_text(&mut out);
        out
    }

    /// The text of `self` (`to_string()` without the formatter, its buffer sized once: reports
    /// name members on every request).
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(self.text_len());
        self.push_text(&mut out);
        out
    }

    /// Appends the text of `self` to `out`.
    pub(crate) fn push_text(&self, out: &mut String) {
        for seg in &self.segments {
            out.push('/');
            if needs_escape(seg) {
                out.push_str(&seg.replace('~', "~0").replace('/', "~1"));
            } else {
                out.push_str(seg);
            }
        }
    }

    /// The length of the text of `self` when no segment needs an escape (a capacity).
    pub(crate) fn text_len(&self) -> usize {
        self.segments.iter().map(|s| s.len() + 1).sum()
    }

    /// `self` followed by `segments`.
    pub(crate) fn join_segments(&self, segments: &[String]) -> Pointer {
        let mut all = self.segments.clone();
        all.extend_from_slice(segments);
        Pointer { segments: all }
    }

    /// `self` followed by one more segment.
    pub fn child(&self, segment: impl Into<String>) -> Pointer {
        let mut segments = self.segments.clone();
        segments.push(segment.into());
        Pointer { segments }
    }

    /// True when `self` is `other` or an ancestor of it.
    pub fn is_prefix_of(&self, other: &Pointer) -> bool {
        other.segments.len() >= self.segments.len()
            && other.segments[..self.segments.len()] == self.segments[..]
    }

    /// What follows `prefix` in `self`, if `prefix` is a prefix.
    pub fn strip_prefix(&self, prefix: &Pointer) -> Option<Pointer> {
        prefix.is_prefix_of(self).then(|| Pointer {
            segments: self.segments[prefix.segments.len()..].to_vec(),
        })
    }

    /// The pointer to the member holding this one; `None` at the root.
    pub fn parent(&self) -> Option<Pointer> {
        let (_, parent) = self.segments.split_last()?;
        Some(Pointer {
            segments: parent.to_vec(),
        })
    }

    /// The last segment.
    pub fn last(&self) -> Option<&str> {
        self.segments.last().map(String::as_str)
    }

    /// Looks the pointer up in `value` (objects by key, arrays by index).
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.get_after(0, value)
    }

    /// [`Pointer::get`] of the segments after the first `skip`, in `value` (what the first
    /// `skip` segments led to).
    pub(crate) fn get_after<'v>(&self, skip: usize, value: &'v Value) -> Option<&'v Value> {
        let mut cur = value;
        for seg in self.segments.get(skip..)? {
            cur = match cur {
                Value::Object(map) => map.get(seg)?,
                Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// [`Pointer::get`], for changing the value found.
    pub(crate) fn get_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        let mut cur = value;
        for seg in &self.segments {
            cur = match cur {
                Value::Object(map) => map.get_mut(seg)?,
                Value::Array(items) => items.get_mut(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Looks the pointer up in an object, through objects only (`None` for the root pointer).
    #[inline]
    pub(crate) fn get_member<'v>(&self, map: &'v Map<String, Value>) -> Option<&'v Value> {
        self.get_member_by(|first| map.get(first))
    }

    /// [`Pointer::get_member`] in the object whose members `first` finds by name (the first
    /// segment), through objects only after it.
    #[inline]
    pub(crate) fn get_member_by<'v>(
        &self,
        first: impl FnOnce(&str) -> Option<&'v Value>,
    ) -> Option<&'v Value> {
        let (head, rest) = self.segments.split_first()?;
        let mut cur = first(head)?;
        for seg in rest {
            cur = cur.as_object()?.get(seg)?;
        }
        Some(cur)
    }

    /// Writes `new` at the pointer inside an object, creating intermediate objects. A non-object
    /// in the way is replaced (callers write into documents they build themselves).
    pub fn set(&self, root: &mut Map<String, Value>, new: Value) {
        let Some((last, parents)) = self.segments.split_last() else {
            if let Value::Object(map) = new {
                *root = map;
            }
            return;
        };
        if parents.is_empty() {
            // A member of `root` itself, as most are: one search (documents are built member
            // by member, so the member is mostly new; the key is cloned either way then).
            root.insert(last.clone(), new);
        } else {
            set_in(root, parents, last, new);
        }
    }

    /// Removes the member at the pointer inside an object, through objects only.
    pub fn remove(&self, root: &mut Map<String, Value>) -> Option<Value> {
        let (last, parents) = self.segments.split_last()?;
        let mut cur = root;
        for seg in parents {
            cur = cur.get_mut(seg)?.as_object_mut()?;
        }
        cur.remove(last)
    }

    /// The member names as a dotted path (`data.email`), as several vendors print them.
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.segments {
            f.write_str("/")?;
            // Most segments need no escape: written as they are, without a copy.
            if needs_escape(seg) {
                f.write_str(&seg.replace('~', "~0").replace('/', "~1"))?;
            } else {
                f.write_str(seg)?;
            }
        }
        Ok(())
    }
}

/// [`Pointer::set`] of the member `last` under the objects `parents` of `cur`. Recursive, so that
/// an object already there is found with one search (a loop descending through a mutable
/// borrow would look it up twice), and one created with two; the key is cloned only when the
/// member is created. This runs for every member of every message built.
fn set_in(cur: &mut Map<String, Value>, parents: &[String], last: &String, new: Value) {
    let Some((seg, rest)) = parents.split_first() else {
        cur.insert(last.clone(), new);
        return;
    };
    if let Some(Value::Object(map)) = cur.get_mut(seg) {
        return set_in(map, rest, last, new);
    }
    // Missing, or not an object (replaced: callers write into documents they build).
    let slot = cur.entry(seg.clone()).or_insert(Value::Null);
    *slot = Value::Object(Map::new());
    if let Value::Object(map) = slot {
        set_in(map, rest, last, new);
    }
}

/// True when `seg` holds a character its pointer text escapes (`~` or `/`): a look at its bytes
/// (both are ASCII), cheaper than a search for either character.
fn needs_escape(seg: &str) -> bool {
    seg.bytes().any(|b| b == b'~' || b == b'/')
}

/// Writes `new` at `pointer` inside `root`, through existing array items (a segment that is the
/// index of an item) and objects, creating objects where a member is missing: the id of an
/// array body's item (`[{"id": 12, …}]`).
pub(crate) fn set_through(pointer: &Pointer, root: &mut Value, new: Value) {
    let Some((last, parents)) = pointer.segments().split_last() else {
        *root = new;
        return;
    };
    let mut cur = root;
    for seg in parents {
        cur = match cur {
            Value::Array(items) => match seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => item,
                None => return,
            },
            Value::Object(map) => {
                if !map.get(seg).is_some_and(|v| v.is_object() || v.is_array()) {
                    map.insert(seg.clone(), Value::Object(Map::new()));
                }
                match map.get_mut(seg) {
                    Some(next) => next,
                    None => return,
                }
            }
            _ => return,
        };
    }
    match cur {
        Value::Object(map) => {
            map.insert(last.clone(), new);
        }
        Value::Array(items) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = new;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_escapes_and_prints_back() {
        let p = Pointer::parse("/a~1b/c~0d").unwrap();
        assert_eq!(p.segments(), ["a/b", "c~d"]);
        assert_eq!(p.to_string(), "/a~1b/c~0d");
        assert!(Pointer::parse("a").is_none());
        assert!(Pointer::parse("").unwrap().is_root());
        for text in ["/a/b", "/~0~1/x~01", "/a~1~1b/~0", "/", "//x", "/~1"] {
            assert_eq!(Pointer::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Pointer::parse("/x~01").unwrap().segments(), ["x~1"]);
        let texts = ["", "/a/b", "/~0~1/x~01", "/", "//x"];
        for a in texts {
            for b in texts {
                let (pa, pb) = (Pointer::parse(a).unwrap(), Pointer::parse(b).unwrap());
                assert_eq!(pa.join_text(&pb), pa.join(&pb).to_string(), "{a} {b}");
                assert_eq!(pa.text(), pa.to_string(), "{a}");
                let mut pushed = "x".to_owned();
                pa.push_text(&mut pushed);
                assert_eq!(pushed, format!("x{pa}"), "{a}");
            }
        }
    }

    #[test]
    fn get_and_set() {
        let doc = json!({"a": {"b": [10, 20]}});
        assert_eq!(Pointer::parse("/a/b/1").unwrap().get(&doc), Some(&json!(20)));
        assert_eq!(Pointer::parse("/a/x").unwrap().get(&doc), None);
        let mut map = Map::new();
        Pointer::parse("/x/y").unwrap().set(&mut map, json!(1));
        assert_eq!(Value::Object(map), json!({"x": {"y": 1}}));
    }

    #[test]
    fn set_descends_into_objects_and_replaces_what_is_in_the_way() {
        let mut map = json!({"a": {"keep": 1, "b": {"old": true}}, "s": "text", "n": null})
            .as_object()
            .unwrap()
            .clone();
        for (p, v) in [
            ("/a/b/c", json!(1)),
            ("/a/new/deep", json!(2)),
            ("/s/x", json!(3)),
            ("/n/y/z", json!(4)),
            ("/fresh", json!(5)),
            ("/a/keep", json!(6)),
        ] {
            Pointer::parse(p).unwrap().set(&mut map, v);
        }
        assert_eq!(
            Value::Object(map),
            json!({
                "a": {"keep": 6, "b": {"old": true, "c": 1}, "new": {"deep": 2}},
                "s": {"x": 3},
                "n": {"y": {"z": 4}},
                "fresh": 5
            })
        );
    }

    #[test]
    fn get_member_walks_objects_only() {
        let doc = json!({"a": {"b": 1}, "l": [{"c": 2}]});
        let map = doc.as_object().unwrap();
        assert_eq!(Pointer::parse("/a/b").unwrap().get_member(map), Some(&json!(1)));
        assert_eq!(Pointer::parse("/l/0/c").unwrap().get_member(map), None);
        assert_eq!(Pointer::root().get_member(map), None);
    }
}
