# mixdet: `make demo` runs the main job, `make test` runs the test suite.
# Both create .venv on first use and install everything into it; a stamp file
# that depends on the dependency files makes a second run quick.

PYTHON ?= python3
# torch 2.13.0 is the local CPU build here; elsewhere any torch in requirements/runtime.txt's range (e.g.
# `make test TORCH=torch==2.5.1`). Exact pins only here, for what is installed before the ranges of runtime.txt.
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mixdet-installed
DEPS := $(wildcard requirements/*.txt) setup.cfg \
	setup.py mixdet/config_prefix.py Makefile \
	$(wildcard mixdet/ops/csrc/*.cpp mixdet/ops/csrc/*.h mixdet/ops/csrc/*/*.cpp mixdet/ops/csrc/*/*.cu \
		mixdet/ops/csrc/*/*.cuh mixdet/ops/csrc/*/*.h)

.PHONY: install demo lint test mutation-check clean-venv cuda-check gpu-check gpu-wheels

install: $(STAMP)

$(STAMP): $(DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=23"
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -r requirements/build.txt
	@# mmcv 2.1.0 has no wheels for current torch: build it with its compiled ops
	@# (about 13 minutes on 2 cores the first time, then from pip's wheel cache).
	$(PIP) install --quiet mmengine==0.10.7
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(PIP) install --no-build-isolation mmcv==2.1.0
	$(PIP) install --quiet -r requirements/runtime.txt -r requirements/tools.txt
	$(PIP) install --quiet --no-deps -r requirements/deploy.txt -r requirements/tests.txt
	$(PIP) install --quiet pytest -r requirements/lint.txt
	$(PIP) install --quiet --no-build-isolation --no-deps -e .
	$(PY) -c "import mmcv.ops, mmdet.models, mixdet; print('mixdet environment ready')"
	touch $@

DEMO_CONFIG := configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py
DEMO_DIR := work_dirs/demo
DEMO_DATA := data/shapes/annotations/instances_val.json

# The dataset is written once, and again whenever its generator changes.
$(DEMO_DATA): mixdet/datasets/shapes.py tools/misc/make_shapes_dataset.py | $(STAMP)
	$(PY) tools/misc/make_shapes_dataset.py data/shapes

demo: $(STAMP) $(DEMO_DATA)
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" --work-dir $(DEMO_DIR)/test
	$(PY) tools/analysis_tools/show_detections.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
		--out $(DEMO_DIR)/detections.png
	$(PY) tools/analysis_tools/plot_logs.py $(DEMO_DIR) --out $(DEMO_DIR)/curves.png
	$(PY) tools/deployment/export_onnx.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
		--out $(DEMO_DIR)/ssdlite_mixnet-s.onnx
	$(PY) tools/deployment/quantize_onnx.py $(DEMO_CONFIG) $(DEMO_DIR)/ssdlite_mixnet-s.onnx \
		--out $(DEMO_DIR)/ssdlite_mixnet-s_int8.onnx
	@# float and INT8 (and PyTorch) side by side: bbox mAP and latency per image, runs interleaved
	$(PY) tools/deployment/test_onnx.py $(DEMO_CONFIG) $(DEMO_DIR)/ssdlite_mixnet-s.onnx \
		$(DEMO_DIR)/ssdlite_mixnet-s_int8.onnx

# Style first (flake8 and isort with setup.cfg's settings, as .pre-commit-config.yaml), then the tests.
lint: $(STAMP)
	$(PY) -m flake8
	$(PY) -m isort --check-only --diff .

test: lint
	$(PY) -m pytest tests

# Not part of `make test` or CI: break the code in the curated ways of tools/dev/mutations.py, one at a time in a
# temporary copy, and report which breakages the tests catch (docs/testing.md). MUTATION_ARGS='--only NAME ...'.
mutation-check: $(STAMP)
	$(PY) tools/dev/mutation_check.py $(MUTATION_ARGS)

clean-venv:
	rm -rf $(VENV)

# Compile-check of the CUDA kernels without a GPU (docs/mixconv-op.md): a side venv outside the repo with the CUDA
# build of torch 2.14.1 (local wheel) and cuobjdump/nvdisasm (pip wheels); tools/misc/cuda_resources.py builds
# mixdet.ops._C there (CUDA_HOME = the toolkit that the nvcc on the PATH runs, wrapper or not;
# TORCH_CUDA_ARCH_LIST=$(CUDA_ARCH), 9.0: H100/H200), loads it (no GPU) and prints per kernel and dtype registers,
# spills, stack frame, shared memory, resident CTAs/SM and SASS load counts; it fails when a bound is not met.
CUDA_VENV ?= $(HOME)/.cache/mixdet-cuda-venv
CUDA_ARCH ?= 9.0
CUDA_BUILD ?= $(CUDA_VENV)/mixdet-build-$(notdir $(CURDIR))
cuda-check:
	test -x $(CUDA_VENV)/bin/python || $(PYTHON) -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/pip install --quiet torch==2.14.1 ninja numpy "setuptools<81" "nvidia-cuda-cuobjdump==13.2.*" \
		"nvidia-cuda-nvdisasm==13.2.*"
	MAX_JOBS=2 $(CUDA_VENV)/bin/python tools/misc/cuda_resources.py --build-dir $(CUDA_BUILD) --arch $(CUDA_ARCH)

# The GPU acceptance run (tools/misc/gpu_check.py, docs/benchmarks.md), for a GPU machine with torch, timm, ninja and
# nvcc but no OpenMMLab stack and mixdet not installed (it runs from this checkout; `make test` rehearses it on the
# CPU): builds the CUDA kernels in place, runs the CUDA op tests, benchmarks, writes work_dirs/gpu_check/report.md
# section by section. `make gpu-wheels` (here) stores the pure-Python test wheels it installs there
# when pytest is missing (that machine has no network).
gpu-check:
	$(PYTHON) tools/misc/gpu_check.py

gpu-wheels:
	$(PYTHON) -m pip download --quiet --only-binary=:all: --python-version 3.12 --dest .gpu-wheels \
		pytest pluggy iniconfig packaging
