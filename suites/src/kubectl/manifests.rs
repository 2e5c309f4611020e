//! The multi-document manifest kubectl tests apply: a ConfigMap, a Service, a
//! ReplicationController and a Deployment, all labelled `app=kc`.

use crate::support::PAUSE_IMAGE;

/// The manifest, for namespace `namespace`; `marker` goes into the ConfigMap's data so a
/// second apply can change (or keep) it.
pub(crate) fn bundle(namespace: &str, marker: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: kc-config
  namespace: {namespace}
  labels:
    app: kc
    part: config
data:
  marker: "{marker}"
---
apiVersion: v1
kind: Service
metadata:
  name: kc-svc
  namespace: {namespace}
  labels:
    app: kc
    part: network
spec:
  selector:
    app: kc
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ReplicationController
metadata:
  name: kc-rc
  namespace: {namespace}
  labels:
    app: kc
    part: workload
spec:
  replicas: 1
  selector:
    app: kc-rc
  template:
    metadata:
      labels:
        app: kc-rc
    spec:
      schedulerName: kubeproof-no-scheduler
      containers:
      - name: app
        image: {PAUSE_IMAGE}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kc-deploy
  namespace: {namespace}
  labels:
    app: kc
    part: workload
spec:
  replicas: 1
  selector:
    matchLabels:
      app: kc-deploy
  template:
    metadata:
      labels:
        app: kc-deploy
    spec:
      schedulerName: kubeproof-no-scheduler
      containers:
      - name: app
        image: {PAUSE_IMAGE}
"#
    )
}
