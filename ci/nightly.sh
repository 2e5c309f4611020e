#!/usr/bin/env bash
# Nightly job: build kubeproof, run the suites against the embedded target, keep the results in
# results/nightly/ (results.json, junit.xml, summary.md) and exit with kubeproof's code:
# 0 ok, 1 test failures, 2 usage/config error, 3 target boot failure.
# Extra arguments go to `kubeproof run` (e.g. `--include slow`, `--target kubeconfig`).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p harness --bin kubeproof
status=0
./target/release/kubeproof run --out results/nightly "$@" || status=$?
echo "nightly: kubeproof exited with ${status}; results in results/nightly/"
exit "${status}"
