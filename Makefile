# Entry points people type. Each target works on a fresh clone with the Rust toolchain installed.
CARGO ?= cargo

.PHONY: test lint fmt bench build doc e2e demo

## demo: the flash-crowd scenario through the real decision cores of both autoscalers, in a simulated
## cluster and cloud (no cluster, no cloud account); prints the summary and the HTML report's path
demo:
	$(CARGO) run --quiet -p swell -- simulate scenarios/flash-crowd.yaml --report target/simulate/flash-crowd.html

## test: every test of the workspace (unit, table, property, doc tests). The AWS provider's tests run
## against moto, which scripts/moto.sh installs (under target/moto) and starts for the run, then stops.
test:
	@moto=$$(scripts/moto.sh start) || exit 1; eval "$$moto"; status=0; \
	$(CARGO) test --workspace --all-targets && $(CARGO) test --workspace --doc || status=$$?; \
	if [ -n "$${SWELL_MOTO_STARTED:-}" ]; then scripts/moto.sh stop; fi; exit $$status

## lint: formatting, clippy and rustdoc (broken doc links) with warnings as errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

## fmt: format the workspace
fmt:
	$(CARGO) fmt --all

## bench: the decision benchmarks (criterion); figures are recorded in docs/benchmarks.md
bench:
	$(CARGO) bench -p swell-pod-autoscaler --bench hpa_decision
	$(CARGO) bench -p swell-node-autoscaler --bench node_scenarios
	$(CARGO) bench -p swell-sim --bench diurnal_day
	$(CARGO) bench -p swell-pod-autoscaler --features controller --bench hpa_load

## e2e: the tests against the cluster KUBECONFIG names (they say so and skip when it is unset)
e2e:
	$(CARGO) test -p swell-e2e -- --ignored --nocapture --test-threads=1

## build: the swell binary (release)
build:
	$(CARGO) build --release -p swell

## doc: API documentation
doc:
	$(CARGO) doc --workspace --no-deps
