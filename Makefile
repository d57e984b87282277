# hava-cabinet — every command a developer or CI needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

export AWS_DEFAULT_REGION ?= eu-central-1

.PHONY: venv run test lint bench package package-strip fuzz clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'pip<26.3'
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## make run: the whole stack on loopback (moto + API on :8000 + SQS workers)
run: venv
	$(PY) -m chalicelib.local

## make test: lint, types and every test
test: venv lint
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make package: the SAM template (Chalice + infra/resources.yaml) and the
## deployment zip in build/package, without what the Lambda runtime provides.
PACKAGE_DIR := build/package
# boto3 and its dependency closure ship with the Lambda Python runtime
# (serverless-python-requirements leaves the same set out by default; we also
# drop urllib3 so the runtime's botocore never runs on our urllib3). Chalice
# has no exclude option, so they are removed after packaging - from the output
# AND from Chalice's cached zip in .chalice/deployments, which a following
# `chalice deploy` reuses: what is measured is what is deployed.
RUNTIME_PROVIDED := 'boto3/*' 'boto3-*' 'botocore/*' 'botocore-*' 's3transfer/*' \
	's3transfer-*' 'jmespath/*' 'jmespath-*' 'dateutil/*' 'python_dateutil-*' \
	'six.py' 'six-*' 'urllib3/*' 'urllib3-*'

package: venv
	rm -rf $(PACKAGE_DIR)
	$(BIN)/chalice package --stage dev --merge-template infra/resources.yaml $(PACKAGE_DIR)
	$(MAKE) --no-print-directory package-strip

# Strip the runtime-provided packages; zip exits 12 when nothing matches (already lean).
package-strip:
	@out=$(PACKAGE_DIR)/deployment.zip; \
	cached=$$(for f in .chalice/deployments/*.zip; do cmp -s "$$f" "$$out" && echo "$$f"; done | head -n 1); \
	zip -q -d "$$out" $(RUNTIME_PROVIDED) || [ $$? -eq 12 ]; \
	if [ -n "$$cached" ]; then cp "$$out" "$$cached"; fi; \
	echo "deployment.zip: $$(wc -c < "$$out") bytes ($${cached:-no chalice cache found})"

bench: venv
	$(PY) -m bench

## make fuzz: schemathesis against the local stack with a big budget (make test runs
## the same tests/fuzz with 8 examples per operation). FUZZ_EXAMPLES, FUZZ_SEED to vary.
FUZZ_EXAMPLES ?= 150
fuzz: venv
	@mkdir -p build
	HAVA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) HAVA_FUZZ_SEED=$(FUZZ_SEED) \
		HAVA_FUZZ_REPORT=$(CURDIR)/build/fuzz-report.json \
		$(BIN)/pytest -q -p no:cacheprovider tests/fuzz

clean:
	rm -rf $(VENV) .local build .pytest_cache .mypy_cache .ruff_cache

## make staff USERNAME=… ROLES="support security": create a staff member; prints a
## one-time enrolment link (24 h) where the member sets their own password and TOTP
## (the first admin too: ROLES=admin). Talks to the AWS the environment points at,
## or to the local stack (`make run`) when none is set.
.PHONY: staff
staff: venv
	@test -n "$(USERNAME)" -a -n "$(ROLES)" || \
		{ echo 'usage: make staff USERNAME=name ROLES="support security admin"' >&2; exit 2; }
	$(PY) -m chalicelib.staff_cli create '$(USERNAME)' $(foreach role,$(ROLES),--role '$(role)')
