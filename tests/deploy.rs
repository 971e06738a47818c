//! Checks the Kubernetes manifests in `deploy/kubernetes/` without a cluster or kubectl: every
//! YAML document is parsed, the pieces are checked against one another (Service → pods,
//! HPA/PDB → Deployment, volumes → ConfigMaps, env → Secret), the cluster configuration is loaded
//! by the gateway's own configuration loader, and the generated `configmap-dialects.yaml` is
//! compared with `config/dialects/` and `schemas/` so it cannot go stale silently.

// A malformed manifest should fail the test right where it is found.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const APP: &str = "dialectgate";
const SECRET: &str = "dialectgate-credentials";
const RENDER: &str = "run deploy/kubernetes/render-configmaps.sh";

fn deploy_dir() -> PathBuf {
    Path::new(ROOT).join("deploy/kubernetes")
}

/// One YAML document and the file it came from.
#[derive(Debug, Clone)]
struct Doc {
    file: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
}

/// Every document of a multi-document YAML file (empty documents skipped).
fn parse_file(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            // `serde` itself is not a dev-dependency, so `Value::deserialize(doc)` cannot be
            // named; this free function calls it for us and is transparent for untyped values.
            serde_yaml::with::singleton_map::deserialize::<Value, _>(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The `*.yaml` files of deploy/kubernetes/, sorted.
fn yaml_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    files.sort();
    files
}

fn docs_of(file: &str) -> Vec<Doc> {
    parse_file(&deploy_dir().join(file))
        .into_iter()
        .map(|value| Doc {
            file: file.to_owned(),
            value,
        })
        .collect()
}

fn kustomization() -> Value {
    let mut docs = docs_of("kustomization.yaml");
    assert_eq!(docs.len(), 1);
    docs.remove(0).value
}

/// The files `kubectl apply -k deploy/kubernetes` applies.
fn resource_files() -> Vec<String> {
    kustomization()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

/// Every document `kubectl apply -k deploy/kubernetes` applies.
fn applied() -> Vec<Doc> {
    resource_files().iter().flat_map(|f| docs_of(f)).collect()
}

fn find(docs: &[Doc], kind: &str, name: &str) -> Value {
    let found: Vec<&Doc> = docs
        .iter()
        .filter(|d| d.kind() == kind && d.name() == name)
        .collect();
    assert_eq!(found.len(), 1, "expected exactly one {kind} {name}");
    found[0].value.clone()
}

fn deployment() -> Value {
    find(&applied(), "Deployment", APP)
}

fn container(deployment: &Value) -> Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1, "one container per pod");
    containers[0].clone()
}

/// A port given by number or by the container port's name.
fn port_number(container: &Value, port: &Value) -> u64 {
    match port {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(name) => container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no container port named {name}"))["containerPort"]
            .as_u64()
            .unwrap(),
        other => panic!("not a port: {other}"),
    }
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not a map: {v}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// The selector's labels are all on the pod template.
fn selects_pods(selector: &Value, deployment: &Value) {
    let selector = str_map(selector);
    let pod_labels = str_map(&deployment["spec"]["template"]["metadata"]["labels"]);
    assert!(!selector.is_empty(), "an empty selector selects everything");
    for (k, v) in &selector {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "selector {k}={v} does not match the pod labels"
        );
    }
}

/// The pod's effective security setting: the container's, else the pod's.
fn security<'a>(deployment: &'a Value, container: &'a Value, key: &str) -> &'a Value {
    let c = &container["securityContext"][key];
    if c.is_null() {
        &deployment["spec"]["template"]["spec"]["securityContext"][key]
    } else {
        c
    }
}

/// `dialectgate.toml` as shipped in the ConfigMap `dialectgate-config`.
fn cluster_config_text() -> String {
    find(&applied(), "ConfigMap", "dialectgate-config")["data"]["dialectgate.toml"]
        .as_str()
        .expect("dialectgate-config has a dialectgate.toml")
        .to_owned()
}

fn cluster_config() -> toml::Table {
    cluster_config_text().parse::<toml::Table>().unwrap()
}

/// `--flag value` pairs of the container's arguments.
fn args(container: &Value) -> BTreeMap<String, String> {
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args.len() % 2,
        0,
        "arguments come in --flag value pairs: {args:?}"
    );
    args.chunks(2)
        .map(|p| (p[0].to_owned(), p[1].to_owned()))
        .collect()
}

/// mountPath → ConfigMap name, for every ConfigMap volume the container mounts.
fn configmap_mounts(deployment: &Value) -> BTreeMap<String, String> {
    let volumes: BTreeMap<String, Value> = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v.clone()))
        .collect();
    container(deployment)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| {
            let volume = &volumes[m["name"].as_str().unwrap()];
            let cm = volume["configMap"]["name"].as_str()?;
            Some((m["mountPath"].as_str().unwrap().to_owned(), cm.to_owned()))
        })
        .collect()
}

#[test]
fn kustomization_applies_every_manifest_except_the_secret_example() {
    let files = yaml_files();
    let resources = resource_files();
    for r in &resources {
        assert!(
            files.contains(r),
            "kustomization.yaml lists {r}, which does not exist"
        );
    }
    for f in &files {
        let expected = !matches!(f.as_str(), "kustomization.yaml" | "secret.example.yaml");
        assert_eq!(
            resources.contains(f),
            expected,
            "{f}: listed in kustomization.yaml = {}",
            !expected
        );
    }
    for f in files.iter().filter(|f| *f != "kustomization.yaml") {
        for d in docs_of(f) {
            assert!(
                d.value["apiVersion"].is_string(),
                "{f}: a document without apiVersion"
            );
            assert!(
                !d.kind().is_empty() && !d.name().is_empty(),
                "{f}: a document without kind or name"
            );
            assert!(
                d.value["metadata"]["namespace"].is_null(),
                "{f}: {} hard-codes a namespace",
                d.name()
            );
        }
    }
    let mut seen = BTreeSet::new();
    for d in applied() {
        assert!(
            seen.insert((d.kind().to_owned(), d.name().to_owned())),
            "{} {} twice",
            d.kind(),
            d.name()
        );
    }
}

#[test]
fn expected_kinds_are_applied_and_a_secret_only_in_the_example() {
    let kinds: BTreeSet<String> = applied().iter().map(|d| d.kind().to_owned()).collect();
    for kind in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(
            kinds.contains(kind),
            "no {kind} among the applied manifests: {kinds:?}"
        );
    }
    let secrets: Vec<Doc> = yaml_files()
        .iter()
        .flat_map(|f| docs_of(f))
        .filter(|d| d.kind() == "Secret")
        .collect();
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    assert_eq!(secrets[0].file, "secret.example.yaml");
    assert_eq!(secrets[0].name(), SECRET);
    // Placeholders only: nothing that could be a real credential is committed.
    for (key, value) in str_map(&secrets[0].value["stringData"]) {
        assert!(
            value.contains("REPLACE_ME"),
            "secret.example.yaml: {key} is not a placeholder"
        );
    }
    assert!(
        secrets[0].value["data"].is_null(),
        "the example uses stringData placeholders only"
    );
}

#[test]
fn deployment_probes_resources_security_and_shutdown() {
    let d = deployment();
    let c = container(&d);
    let pod = &d["spec"]["template"]["spec"];

    // Probes on the admin listener.
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(port_number(&c, &c["livenessProbe"]["httpGet"]["port"]), 9090);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(port_number(&c, &c["readinessProbe"]["httpGet"]["port"]), 9090);
    let ports: BTreeMap<String, u64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["containerPort"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        BTreeMap::from([("admin".into(), 9090), ("http".into(), 8080)])
    );
    let args = args(&c);
    assert_eq!(args.get("--listen").map(String::as_str), Some("0.0.0.0:8080"));
    assert_eq!(
        args.get("--admin-listen").map(String::as_str),
        Some("0.0.0.0:9090")
    );

    // Requests and limits for both CPU and memory.
    for (kind, cpu, memory) in [("requests", "250m", "64Mi"), ("limits", "1", "256Mi")] {
        assert_eq!(c["resources"][kind]["cpu"], cpu, "resources.{kind}.cpu");
        assert_eq!(c["resources"][kind]["memory"], memory, "resources.{kind}.memory");
    }

    // Non-root, read-only, nothing to escalate to.
    assert_eq!(security(&d, &c, "runAsNonRoot"), true);
    assert_eq!(security(&d, &c, "runAsUser"), 10001);
    assert_eq!(security(&d, &c, "seccompProfile")["type"], "RuntimeDefault");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(
        c["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(pod["automountServiceAccountToken"], false);

    // Shutdown: the preStop sleep and the gateway's own drain both fit in the grace period.
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        grace > 10,
        "terminationGracePeriodSeconds {grace} must exceed the gateway's 10 s drain"
    );
    let pre_stop: Vec<&str> = c["lifecycle"]["preStop"]["exec"]["command"]
        .as_array()
        .expect("a preStop exec hook")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(pre_stop.len(), 2, "{pre_stop:?}");
    assert!(pre_stop[0].ends_with("/sleep"), "{pre_stop:?}");
    let sleep: u64 = pre_stop[1].parse().unwrap();
    let drain_ms = cluster_config()["server"]["grace_period_ms"]
        .as_integer()
        .unwrap();
    let drain_s = u64::try_from(drain_ms).unwrap().div_ceil(1000);
    assert!(
        sleep + drain_s < grace,
        "preStop {sleep} s + drain {drain_s} s must fit in terminationGracePeriodSeconds {grace}"
    );

    // The HPA owns the replica count; a fixed one would be re-applied over it on every apply.
    assert!(
        d["spec"]["replicas"].is_null(),
        "spec.replicas fights the HorizontalPodAutoscaler"
    );
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0);

    // Prometheus scrapes the admin listener.
    let annotations = str_map(&d["spec"]["template"]["metadata"]["annotations"]);
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], "9090");
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
}

#[test]
fn credentials_come_from_the_secret_only() {
    let d = deployment();
    let c = container(&d);
    let config = cluster_config();
    let credentials = config["credentials"].as_table().unwrap();
    let keys_env = credentials["keys_env"].as_str().unwrap();
    let token_env = credentials["upstream_token_env"].as_str().unwrap();
    // The token key: one for every pod, or a token from one pod is refused at the next.
    let token_key_env = credentials["token_key_env"].as_str().unwrap();
    assert_eq!(keys_env, "DIALECTGATE_KEYS");
    assert_eq!(token_env, "DIALECTGATE_UPSTREAM_TOKEN");
    assert_eq!(token_key_env, "DIALECTGATE_TOKEN_KEY");

    let env: BTreeMap<String, Value> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect();
    let example = find(&docs_of("secret.example.yaml"), "Secret", SECRET);
    for name in [keys_env, token_env, token_key_env] {
        let e = env.get(name).unwrap_or_else(|| panic!("{name} is not set"));
        assert!(e["value"].is_null(), "{name} has a literal value");
        let reference = &e["valueFrom"]["secretKeyRef"];
        assert_eq!(
            reference["name"], SECRET,
            "{name} must come from the Secret {SECRET}"
        );
        assert_ne!(
            reference["optional"], true,
            "{name}: the gateway must not start without it"
        );
        let key = reference["key"].as_str().unwrap();
        assert!(
            example["stringData"][key].is_string(),
            "{name} reads key {key}, which secret.example.yaml does not document"
        );
    }
    for (name, e) in &env {
        let upper = name.to_uppercase();
        if ["KEY", "TOKEN", "SECRET", "PASSWORD"]
            .iter()
            .any(|w| upper.contains(w))
        {
            assert!(
                e["value"].is_null(),
                "{name} looks secret but has a literal value"
            );
        }
    }
    // The admin token, if any, comes from the same Secret; without it reloads over HTTP are off.
    let admin_env = config["admin"]["token_env"].as_str().unwrap();
    assert_eq!(admin_env, "DIALECTGATE_ADMIN_TOKEN");
    let admin = env
        .get(admin_env)
        .unwrap_or_else(|| panic!("{admin_env} is not set from the Secret"));
    assert!(admin["value"].is_null(), "{admin_env} has a literal value");
    let reference = &admin["valueFrom"]["secretKeyRef"];
    assert_eq!(reference["name"], SECRET);
    assert_eq!(
        reference["optional"], true,
        "without an admin token the gateway starts with POST /admin/reload off"
    );
    let key = reference["key"].as_str().unwrap();
    assert!(
        example["stringData"][key].is_string(),
        "{admin_env} reads key {key}, which secret.example.yaml does not document"
    );
    assert_eq!(env["RUST_LOG"]["value"], "info");
    assert!(c["envFrom"].is_null(), "envFrom would import unknown variables");

    // The demo key is not accepted in the cluster: no keys_file, and the key nowhere.
    assert!(
        credentials.get("keys_file").is_none(),
        "keys_file would accept the demo key"
    );
    for doc in applied() {
        assert!(
            !doc.value.to_string().contains("dg_demo_key"),
            "{}: demo key",
            doc.file
        );
    }
}

#[test]
fn service_selects_the_pods_and_targets_the_traffic_port() {
    let d = deployment();
    let c = container(&d);
    let svc = find(&applied(), "Service", APP);
    selects_pods(&svc["spec"]["selector"], &d);
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    let ports: BTreeMap<String, (u64, u64)> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap().to_owned();
            (
                name,
                (p["port"].as_u64().unwrap(), port_number(&c, &p["targetPort"])),
            )
        })
        .collect();
    assert_eq!(ports["http"], (80, 8080));
    // The admin listener is for the kubelet and Prometheus, which reach the pod directly.
    assert_eq!(
        ports.keys().collect::<Vec<_>>(),
        ["http"],
        "only the traffic port is published"
    );
    // The Deployment's own selector matches its pods too (apps/v1 refuses otherwise).
    selects_pods(&d["spec"]["selector"]["matchLabels"], &d);
}

#[test]
fn network_policy_opens_traffic_and_admits_the_admin_port_from_monitoring_only() {
    let d = deployment();
    let c = container(&d);
    let policy = find(&applied(), "NetworkPolicy", APP);
    assert_eq!(policy["apiVersion"], "networking.k8s.io/v1");
    selects_pods(&policy["spec"]["podSelector"]["matchLabels"], &d);
    assert!(
        policy["spec"]["policyTypes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("Ingress")),
        "the policy must restrict ingress"
    );
    let rules = policy["spec"]["ingress"].as_array().unwrap();
    // For every container port, the sources admitted (None: any source).
    let mut admitted: BTreeMap<u64, Vec<Option<Value>>> = BTreeMap::new();
    for rule in rules {
        let ports = rule["ports"]
            .as_array()
            .expect("every rule names its ports (a rule without ports opens all of them)");
        for p in ports {
            let number = port_number(&c, &p["port"]);
            let from = rule["from"].as_array().map(|f| Value::Array(f.clone()));
            admitted.entry(number).or_default().push(from);
        }
    }
    assert_eq!(
        admitted.keys().copied().collect::<Vec<_>>(),
        [8080, 9090],
        "only the traffic and admin ports are opened"
    );
    assert!(
        admitted[&8080].contains(&None),
        "the traffic port is open to callers"
    );
    for from in &admitted[&9090] {
        let from = from
            .as_ref()
            .expect("the admin port is never open to every source");
        for peer in from.as_array().unwrap() {
            assert!(
                peer["ipBlock"].is_null() || peer["ipBlock"]["cidr"] != "0.0.0.0/0",
                "the admin port is open to the world: {peer}"
            );
            assert_eq!(
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "monitoring",
                "the admin port admits only the monitoring namespace: {peer}"
            );
        }
    }
}

#[test]
fn autoscaler_and_disruption_budget_target_the_deployment() {
    let docs = applied();
    let d = deployment();
    let hpa = find(&docs, "HorizontalPodAutoscaler", APP);
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(target["apiVersion"], "apps/v1");
    assert_eq!(target["kind"], "Deployment");
    assert_eq!(target["name"], d["metadata"]["name"]);
    let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
    assert_eq!(min, 3);
    assert_eq!(hpa["spec"]["maxReplicas"], 20);
    let metrics = hpa["spec"]["metrics"].as_array().unwrap();
    let cpu = metrics
        .iter()
        .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu")
        .expect("a CPU metric");
    assert_eq!(cpu["resource"]["target"]["type"], "Utilization");
    assert_eq!(cpu["resource"]["target"]["averageUtilization"], 70);
    // Utilization is relative to the CPU request, so there must be one.
    assert!(container(&d)["resources"]["requests"]["cpu"].is_string());

    let pdb = find(&docs, "PodDisruptionBudget", APP);
    assert_eq!(pdb["apiVersion"], "policy/v1");
    selects_pods(&pdb["spec"]["selector"]["matchLabels"], &d);
    let min_available = pdb["spec"]["minAvailable"].as_u64().unwrap();
    assert!(
        min_available < min,
        "minAvailable {min_available} would block every drain at {min} pods"
    );
}

#[test]
fn every_mounted_configmap_is_defined_and_every_defined_one_is_mounted() {
    let docs = applied();
    let d = deployment();
    let c = container(&d);
    let pod = &d["spec"]["template"]["spec"];
    let volumes: BTreeSet<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    let defined: BTreeSet<String> = docs
        .iter()
        .filter(|d| d.kind() == "ConfigMap")
        .map(|d| d.name().to_owned())
        .collect();

    for v in pod["volumes"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let cm = v["configMap"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("volume {name}: only ConfigMap volumes are expected"));
        assert!(
            defined.contains(cm),
            "volume {name} mounts ConfigMap {cm}, which is not defined"
        );
    }
    let mut paths = Vec::new();
    for m in c["volumeMounts"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        assert!(volumes.contains(name), "volumeMount {name} has no volume");
        assert_eq!(m["readOnly"], true, "volumeMount {name} must be read-only");
        // subPath mounts never see ConfigMap updates, so a reload would not pick them up.
        assert!(m["subPath"].is_null(), "volumeMount {name} uses subPath");
        paths.push(m["mountPath"].as_str().unwrap().to_owned());
    }
    // No mount inside another: the mount point could not be created in a read-only ConfigMap volume.
    for a in &paths {
        for b in &paths {
            assert!(
                a == b || !b.starts_with(&format!("{a}/")),
                "{b} is nested inside {a}"
            );
        }
    }
    let mounted: BTreeSet<String> = configmap_mounts(&d).into_values().collect();
    assert_eq!(mounted, defined, "every ConfigMap is mounted exactly as defined");
}

#[test]
fn cluster_config_is_accepted_by_the_gateway() {
    let config = cluster_config();
    assert_eq!(config["admin"]["listen"].as_str(), Some("0.0.0.0:9090"));
    assert_eq!(config["server"]["listen"].as_str(), Some("0.0.0.0:8080"));
    let url = config["upstream"]["url"].as_str().unwrap();
    assert!(
        !url.is_empty(),
        "in the cluster the gateway needs a real upstream, not the embedded one"
    );
    assert_eq!(config["upstream"]["dialect"].as_str(), Some("canonical"));
    assert_eq!(config["credentials"]["mode"].as_str(), Some("static"));

    // The gateway's own loader: unknown keys, bad addresses and missing credentials are refused.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dialectgate.toml");
    std::fs::write(&file, cluster_config_text()).unwrap();
    let env = |pairs: &[(&str, &str)]| -> dialectgate_gateway::EnvSource {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        )
    };
    let secrets = env(&[
        ("DIALECTGATE_KEYS", "k1, k2"),
        ("DIALECTGATE_UPSTREAM_TOKEN", "t"),
        ("DIALECTGATE_TOKEN_KEY", "0123456789abcdef0123456789abcdef"),
    ]);

    // As the container starts it: the file plus its arguments.
    let d = deployment();
    let c = container(&d);
    let args = args(&c);
    let overrides = dialectgate_gateway::Overrides {
        listen: args.get("--listen").cloned(),
        admin_listen: args.get("--admin-listen").cloned(),
        ..Default::default()
    };
    let cfg = dialectgate_gateway::load(Some(&file), secrets.clone(), &overrides).unwrap();
    assert_eq!(cfg.server.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(
        cfg.admin.listen.map(|a| a.to_string()).as_deref(),
        Some("0.0.0.0:9090")
    );
    let keys: Vec<&str> = cfg
        .credentials
        .caller_keys
        .iter()
        .map(dialectgate_gateway::Secret::expose)
        .collect();
    assert_eq!(keys, ["k1", "k2"], "only the Secret's keys are accepted");
    assert_eq!(cfg.upstream.url.as_deref(), Some(url));
    assert!(cfg.credentials.upstream_token.is_some());
    assert_eq!(
        cfg.credentials.token_keys.len(),
        1,
        "tokens are sealed with the Secret's token key"
    );
    assert!(
        cfg.admin.token.is_none(),
        "no admin token in the Secret: reload is off"
    );
    let with_admin = env(&[
        ("DIALECTGATE_KEYS", "k1"),
        ("DIALECTGATE_UPSTREAM_TOKEN", "t"),
        ("DIALECTGATE_ADMIN_TOKEN", "0123456789abcdef0123"),
    ]);
    let cfg_admin = dialectgate_gateway::load(Some(&file), with_admin, &overrides).unwrap();
    assert!(
        cfg_admin.admin.token.is_some(),
        "the Secret's admin-token enables reload"
    );

    // The file alone (without the arguments) gives the same addresses.
    let alone = dialectgate_gateway::load(Some(&file), secrets, &Default::default()).unwrap();
    assert_eq!(alone.server.listen, cfg.server.listen);
    assert_eq!(alone.admin.listen, cfg.admin.listen);

    // Without the Secret the gateway refuses to start rather than run open or unauthenticated.
    assert!(dialectgate_gateway::load(Some(&file), env(&[]), &Default::default()).is_err());
    assert!(
        dialectgate_gateway::load(
            Some(&file),
            env(&[("DIALECTGATE_KEYS", "k")]),
            &Default::default()
        )
        .is_err()
    );

    // The directories it reads are where the ConfigMaps are mounted.
    let mounts = configmap_mounts(&d);
    let at = |p: &Path| mounts.get(p.to_str().unwrap()).cloned();
    assert_eq!(
        at(&cfg.dialects.dir).as_deref(),
        Some("dialectgate-dialects"),
        "dialects.dir"
    );
    for folder in schema_folders() {
        assert_eq!(
            at(&cfg.dialects.schemas.join(&folder)),
            Some(format!("dialectgate-schemas-{folder}")),
            "schemas/{folder} is not mounted under dialects.schemas"
        );
    }
    // The entrypoint reads /etc/dialectgate/config/dialectgate.toml.
    assert_eq!(
        mounts.get("/etc/dialectgate/config").map(String::as_str),
        Some("dialectgate-config")
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The folders under schemas/, sorted.
fn schema_folders() -> Vec<String> {
    let mut folders: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("schemas"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    folders.sort();
    folders
}

/// Every file of a folder: name → contents.
fn folder_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_str().unwrap().to_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn generated_configmaps_match_config_dialects_and_schemas() {
    let generated = docs_of("configmap-dialects.yaml");
    let mut expected = vec![(
        "dialectgate-dialects".to_owned(),
        Path::new(ROOT).join("config/dialects"),
    )];
    for folder in schema_folders() {
        let path = Path::new(ROOT).join("schemas").join(&folder);
        expected.push((format!("dialectgate-schemas-{folder}"), path));
    }
    let names: Vec<&str> = generated.iter().map(Doc::name).collect();
    let expected_names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names, expected_names,
        "configmap-dialects.yaml is stale: {RENDER}"
    );
    for ((name, dir), doc) in expected.iter().zip(&generated) {
        assert_eq!(doc.kind(), "ConfigMap");
        let data = str_map(&doc.value["data"]);
        let on_disk = folder_files(dir);
        let keys: Vec<&String> = data.keys().collect();
        let files: Vec<&String> = on_disk.keys().collect();
        assert_eq!(
            keys,
            files,
            "{name}: files differ from {}: {RENDER}",
            dir.display()
        );
        for (file, text) in &on_disk {
            assert!(
                data[file] == *text,
                "{name}: {file} differs from {}: {RENDER}",
                dir.display()
            );
        }
    }
}
