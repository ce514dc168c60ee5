# mixdet: `make demo` runs the main job, `make test` runs the test suite.
# Both create .venv on first use and install everything into it; a stamp file
# that depends on the dependency files makes a second run quick.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mixdet-installed
DEPS := requirements/build.txt requirements/runtime.txt requirements/tests.txt setup.cfg setup.py Makefile \
	$(wildcard mixdet/ops/csrc/*.cpp mixdet/ops/csrc/*.h mixdet/ops/csrc/*/*.cpp mixdet/ops/csrc/*/*.cu)

.PHONY: install demo test clean-venv

install: $(STAMP)

$(STAMP): $(DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=23"
	$(PIP) install --quiet -r requirements/build.txt
	@# mmcv 2.1.0 has no wheels for current torch: build it with its compiled ops
	@# (about 13 minutes on 2 cores the first time, then from pip's wheel cache).
	$(PIP) install --quiet mmengine==0.10.7
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(PIP) install --no-build-isolation mmcv==2.1.0
	$(PIP) install --quiet -r requirements/runtime.txt
	$(PIP) install --quiet --no-deps -r requirements/tests.txt
	$(PIP) install --quiet pytest
	$(PIP) install --quiet --no-build-isolation --no-deps -e .
	$(PY) -c "import mmcv.ops, mmdet.models, mixdet; print('mixdet environment ready')"
	touch $@

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests

clean-venv:
	rm -rf $(VENV)
