# hava-cabinet — every command a developer or CI needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

export AWS_DEFAULT_REGION ?= eu-central-1

.PHONY: venv run test lint bench package package-strip fuzz clean policies locale

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'pip<26.3'
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## make run: the whole stack on loopback (moto + API on :8000 + SQS workers)
run: venv
	$(PY) -m devstack

## make test: lint, types and every test, spread over the machine's cores (pytest-xdist;
## TEST_WORKERS=0 runs them in this one process), and the 25 slowest durations
TEST_WORKERS ?= auto
test: venv lint
	$(BIN)/pytest -q --durations=25 -n $(TEST_WORKERS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make package: the SAM template (Chalice + infra/resources.yaml) and the
## deployment zip in build/package for STAGE (default dev), on the Lambda runtime
## .chalice/config.json names ("lambda_runtime"). Chalice has no runtime setting:
## it targets the interpreter it runs on and downloads wheels for it, and where no
## manylinux wheel fits it builds from source against this machine's libraries,
## which Lambda lacks. So Chalice runs from its own venv on that exact Python
## (.venv-package), and the zip is refused unless every binary in it comes from a
## manylinux wheel (devstack/lambda_package.py).
STAGE          ?= dev
PACKAGE_DIR    := build/package
LAMBDA_RUNTIME := $(shell sed -n 's/^ *"lambda_runtime": *"\(python[0-9.]*\)".*/\1/p' .chalice/config.json)
LAMBDA_PY_VER  := $(patsubst python%,%,$(LAMBDA_RUNTIME))
PKG_VENV       := .venv-package
PKG_STAMP      := $(PKG_VENV)/.installed
LAMBDA_VENV    := .venv-lambda
LAMBDA_STAMP   := $(LAMBDA_VENV)/.installed
# The interpreter for $(LAMBDA_RUNTIME): PACKAGE_PYTHON=..., else python3.X on PATH if it
# runs, else pyenv's or uv's copy.
ifeq ($(origin PACKAGE_PYTHON),undefined)
PACKAGE_PYTHON := $(shell for c in python$(LAMBDA_PY_VER) \
	$${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(LAMBDA_PY_VER)*/bin/python$(LAMBDA_PY_VER) \
	$$(uv python find $(LAMBDA_PY_VER) 2>/dev/null); do \
	"$$c" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(LAMBDA_PY_VER)".split("."))))' \
	2>/dev/null && { command -v "$$c" || echo "$$c"; } && break; done)
endif
# boto3 and its dependency closure ship with the Lambda Python runtime
# (serverless-python-requirements leaves the same set out by default; we also
# drop urllib3 so the runtime's botocore never runs on our urllib3). Chalice
# has no exclude option, so they are removed after packaging - from the output
# AND from Chalice's cached zip in .chalice/deployments, which a following
# `chalice deploy` reuses: what is measured is what is deployed.
RUNTIME_PROVIDED := 'boto3/*' 'boto3-*' 'botocore/*' 'botocore-*' 's3transfer/*' \
	's3transfer-*' 'jmespath/*' 'jmespath-*' 'dateutil/*' 'python_dateutil-*' \
	'six.py' 'six-*' 'urllib3/*' 'urllib3-*'
# Pillow's optional codecs the uploads worker never uses (it accepts JPEG and PNG
# only, chalicelib/domain/images.py): AVIF, WebP and fonts (FreeType/HarfBuzz) with
# their bundled libraries, ~4 MB of the zip and decoders an attacker could reach.
# Pillow imports each of them only when its format is used (and then reports
# the format unsupported). _imaging (JPEG, PNG via zlib, TIFF) stays whole;
# `make lambda-check` decodes a JPEG and a PNG with what is left.
UNUSED_CODECS := 'PIL/_avif.*' 'pillow.libs/libavif-*' 'PIL/_webp.*' 'pillow.libs/libwebp*' \
	'pillow.libs/libsharpyuv-*' 'PIL/_imagingft.*' 'pillow.libs/libfreetype-*' \
	'pillow.libs/libharfbuzz-*' 'pillow.libs/libbrotli*' 'pillow.libs/libpng16-*'
# fontTools (under fpdf2, for the agreement PDF) ships each Cython accelerator beside
# the pure-Python module it was compiled from, plus its C source: the .py files stay
# and are what runs (~4 MB less). python-stdnum's data tables other than the IBAN
# registry serve number formats we never validate (~0.6 MB). `make lambda-check`
# renders an agreement and validates an IBAN with what is left.
UNUSED_DATA := 'fontTools/*.so' 'fontTools/*.c' 'stdnum/oui.dat' 'stdnum/imsi.dat' \
	'stdnum/isbn.dat' 'stdnum/isil.dat' 'stdnum/cfi.dat' 'stdnum/gs1_ai.dat' \
	'stdnum/at/fa.dat' 'stdnum/at/postleitzahl.dat' 'stdnum/be/banks.dat' 'stdnum/cn/loc.dat' \
	'stdnum/cz/banks.dat' 'stdnum/eu/nace20.dat' 'stdnum/eu/nace21.dat' 'stdnum/id/loc.dat' \
	'stdnum/my/bp.dat' 'stdnum/nz/banks.dat' 'stdnum/us/ein.dat'
# The exact pins of requirements-dev.txt (one source of versions).
pin = $(shell grep -E '^$(1)==' requirements-dev.txt)

.PHONY: package-python lambda-check
package-python:
	@test -n "$(LAMBDA_RUNTIME)" || { echo '.chalice/config.json names no "lambda_runtime"' >&2; exit 2; }
	@test -n "$(PACKAGE_PYTHON)" || { \
	  echo "make package: no Python $(LAMBDA_PY_VER) found, and the Lambda runtime is $(LAMBDA_RUNTIME)" >&2; \
	  echo "(.chalice/config.json). Chalice packages for the interpreter it runs on; on another" >&2; \
	  echo "version it would build wheels like Pillow from source against this machine's" >&2; \
	  echo "libraries and the functions would not import on Lambda. Get one with" >&2; \
	  echo "  pyenv install $(LAMBDA_PY_VER)   or   uv python install $(LAMBDA_PY_VER)   or   apt-get install python$(LAMBDA_PY_VER)-venv" >&2; \
	  echo "or point at it: make package PACKAGE_PYTHON=/path/to/python$(LAMBDA_PY_VER)" >&2; exit 2; }

$(PKG_STAMP): requirements.txt requirements-dev.txt .chalice/config.json
	@$(MAKE) --no-print-directory package-python
	rm -rf $(PKG_VENV)
	$(PACKAGE_PYTHON) -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/pip install --quiet 'pip<26.3'
	$(PKG_VENV)/bin/pip install --quiet -r requirements.txt '$(call pin,chalice)'
	touch $@

package: $(PKG_STAMP)
	rm -rf $(PACKAGE_DIR)
	$(PKG_VENV)/bin/chalice package --stage $(STAGE) --merge-template infra/resources.yaml $(PACKAGE_DIR)
	$(MAKE) --no-print-directory package-strip
	$(PKG_VENV)/bin/python devstack/lambda_package.py runtime $(PACKAGE_DIR)/sam.yaml $(LAMBDA_RUNTIME)
	$(PKG_VENV)/bin/python devstack/lambda_package.py wheels $(PACKAGE_DIR)/deployment.zip

# Strip the runtime-provided packages, unused codecs and Babel's locales other than ru/kk; zip exits 12 when nothing matches (already lean).
package-strip:
	@out=$(PACKAGE_DIR)/deployment.zip; \
	cached=$$(for f in .chalice/deployments/*.zip; do cmp -s "$$f" "$$out" && echo "$$f"; done | head -n 1); \
	zip -q -d "$$out" $(RUNTIME_PROVIDED) $(UNUSED_CODECS) $(UNUSED_DATA) || [ $$? -eq 12 ]; \
	unused_locales=$$(unzip -Z1 "$$out" 'babel/locale-data/*' 2>/dev/null | grep -Ev '/(root|ru|kk)(_[A-Za-z]+)*[.]dat$$'); \
	if [ -n "$$unused_locales" ]; then zip -q -d "$$out" $$unused_locales; fi; \
	if [ -n "$$cached" ]; then cp "$$out" "$$cached"; fi; \
	echo "deployment.zip: $$(wc -c < "$$out") bytes ($${cached:-no chalice cache found})"

## make lambda-check: the zip of `make package`, unpacked into a clean $(LAMBDA_RUNTIME)
## venv holding only boto3 (as the Lambda runtime does), imports app, every
## chalicelib module (both workers), answers GET /health and decodes a JPEG.
$(LAMBDA_STAMP): requirements-dev.txt .chalice/config.json
	@$(MAKE) --no-print-directory package-python
	rm -rf $(LAMBDA_VENV)
	$(PACKAGE_PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --quiet '$(call pin,boto3)'
	touch $@

lambda-check: venv package $(LAMBDA_STAMP)
	$(BIN)/cfn-lint $(PACKAGE_DIR)/sam.yaml
	rm -rf build/lambda-task
	mkdir -p build/lambda-task
	cd build/lambda-task && unzip -q ../../$(PACKAGE_DIR)/deployment.zip
	cd build/lambda-task && env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
		AWS_REGION=$(AWS_DEFAULT_REGION) AWS_DEFAULT_REGION=$(AWS_DEFAULT_REGION) \
		$(CURDIR)/$(LAMBDA_VENV)/bin/python -B -s $(CURDIR)/devstack/lambda_package.py imports $(CURDIR)/build/lambda-task

## make policies: regenerate .chalice/policy-<stage>-<function>.json from
## infra/policies.py (one IAM policy per Lambda function and stage); commit them.
policies: venv
	$(PY) -m infra.policies write

## make locale: extract the server's Russian texts (N_, plural) into build/messages.pot,
## merge them into chalicelib/locale/{kk,ru}/LC_MESSAGES/messages.po (translate the new
## entries), and compile the .mo files; commit .po and .mo (tests/unit/test_i18n.py checks
## that they agree and that every text has its Kazakh translation).
LOCALE_DIR := chalicelib/locale
locale: venv
	mkdir -p build
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k plural:1,2 --no-default-keywords \
	  --no-location --sort-output -o build/messages.pot .
	$(VENV)/bin/pybabel update -i build/messages.pot -d $(LOCALE_DIR) -D messages \
	  --no-fuzzy-matching --width 100 --ignore-obsolete
	$(VENV)/bin/pybabel compile -d $(LOCALE_DIR) -D messages --statistics

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
	rm -rf $(VENV) $(PKG_VENV) $(LAMBDA_VENV) .local build .pytest_cache .mypy_cache .ruff_cache

## make schedule NAME=expire_appeals: run one @app.schedule handler now against the
## local stack (`make run`) or the AWS the environment points at; NAME= lists them.
.PHONY: schedule expire
schedule: venv
	@if [ -z "$(NAME)" ]; then $(PY) -m devstack.schedules --list; \
	else $(PY) -m devstack.schedules '$(NAME)'; fi

## make expire: cancel abandoned phone changes now (the hourly expire_appeals).
expire: venv
	$(PY) -m devstack.schedules expire_appeals

## make staff USERNAME=… ROLES="support security": create a staff member; prints a
## one-time enrolment link (24 h) where the member sets their own password and TOTP
## (the first admin too: ROLES=admin). Talks to the AWS the environment points at,
## or to the local stack (`make run`) when none is set.
.PHONY: staff
staff: venv
	@test -n "$(USERNAME)" -a -n "$(ROLES)" || \
		{ echo 'usage: make staff USERNAME=name ROLES="support security admin"' >&2; exit 2; }
	$(PY) -m devstack.staff_cli create '$(USERNAME)' $(foreach role,$(ROLES),--role '$(role)')
