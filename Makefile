# mnist-vlm: `make all` runs every stage (vqvae -> data -> train -> judge -> eval), `make test` the suite.
# Knobs: DATASET=mnist|fashion_mnist, or IMAGES=path/to/folder (one's own pictures: train/<label>/*, docs/
# your_pictures.md; SIDE=48 sets their side, else 28 for grey and 32 for colour), IMAGE_INPUT=letters|patches|cnn|
# frozen (how the GPT reads pictures), TASKS=default|all (reading and drawing, or every task). Each knob's run has one
# complete preset, config/train_<dataset>[_all]_<input>.py (config/train_images_<input>.py for a folder), and a run
# folder of its name, out/<dataset>[_all]_<input>.
# Each stage skips itself when its output is newer than its inputs; ARGS="--key=value ..." is passed to the stage
# named on the command line and makes it run again. `make study NAME=seeds` runs a study of sweeps/.
PYTHON      ?= python3
VENV        ?= .venv
PY          ?= $(VENV)/bin/python
SETUP       ?= $(VENV)/.installed
DATASET     ?= mnist
TASKS       ?= default
IMAGES      ?=
SIDE        ?=
ifneq ($(IMAGES),)
# a folder of one's own pictures: a dataset named after the folder, imported into data/<name>/ (data/folder.py)
DATASET     := $(shell echo '$(notdir $(abspath $(IMAGES)))' | tr 'A-Z' 'a-z' | sed -e 's/[^a-z0-9][^a-z0-9]*/_/g' \
	-e 's/^_//' -e 's/_$$//')
PRESET       = images
IMPORT       = data/$(DATASET)/pictures.json
DATASET_ARG  = --dataset=$(DATASET)
else
PRESET       = $(DATASET)
endif
ifeq ($(wildcard config/vqvae_$(PRESET).py),)
$(error unknown DATASET=$(DATASET); use mnist or fashion_mnist (each has config/vqvae_<DATASET>.py), or IMAGES=folder)
endif
ifeq ($(filter $(TASKS),default all),)
$(error unknown TASKS=$(TASKS); use default (read and draw) or all (every task))
endif
# how each dataset's runs read pictures by default, chosen on validation (docs/studies.md): MNIST through its
# letters; Fashion-MNIST, and every task of one model, through the conv net
DEFAULT_INPUT = $(if $(filter fashion_mnist,$(DATASET))$(filter all,$(TASKS))$(IMAGES),cnn,letters)
IMAGE_INPUT ?= $(DEFAULT_INPUT)
ifeq ($(filter $(IMAGE_INPUT),letters patches cnn frozen),)
$(error unknown IMAGE_INPUT=$(IMAGE_INPUT); use letters, patches, cnn or frozen)
endif
# a folder with a captions.jsonl beside train/ also learns its captions, both ways (tasks/describe*.py)
CAPTIONED    = $(if $(IMAGES),$(wildcard $(IMAGES)/captions.jsonl))
ALL          = $(if $(filter all,$(TASKS)),_all,$(if $(CAPTIONED),_captions))
RUN_NAME     = $(DATASET)$(ALL)_$(IMAGE_INPUT)
VQVAE_CONFIG ?= config/vqvae_$(PRESET).py
DATA_CONFIG  ?= config/prepare_$(PRESET)$(ALL).py
TRAIN_CONFIG ?= config/train_$(PRESET)$(ALL)_$(IMAGE_INPUT).py
JUDGE_CONFIG ?= config/judge_$(PRESET).py
ifeq ($(wildcard $(firstword $(TRAIN_CONFIG))),)
$(error no preset for DATASET=$(DATASET) TASKS=$(TASKS) IMAGE_INPUT=$(IMAGE_INPUT) ($(TRAIN_CONFIG)); the presets: \
	$(patsubst config/train_%.py,%,$(wildcard config/train_*.py)))
endif
ifeq ($(wildcard $(DATA_CONFIG)),)
$(error TASKS=$(TASKS) has no records for DATASET=$(DATASET) ($(DATA_CONFIG)); use DATASET=mnist)
endif
VQVAE_DIR   ?= out/vqvae_$(DATASET)
DATA_DIR    ?= data/$(DATASET)$(ALL)_vlm
RUN_DIR     ?= out/$(RUN_NAME)
JUDGE       ?= out/judge_$(DATASET)/ckpt.pt
PORT        ?= 8000
ARGS        ?=
NAME        ?=
SEEDS       ?= 1338 1339
export MNIST_DIR FASHION_MNIST_DIR TINYSHAKESPEARE_DIR
export PYTHONUNBUFFERED = 1

stage_args = $(if $(filter $(1),$(MAKECMDGOALS)),$(ARGS))
stage_force = $(if $(call stage_args,$(1)),FORCE)
# nanoGPT's `dataset`: a folder name under data/, or the absolute path of a folder elsewhere
DATA_NAME = $(patsubst $(CURDIR)/data/%,%,$(abspath $(DATA_DIR)))
empty :=
space := $(empty) $(empty)
comma := ,

.PHONY: all import vqvae data train judge eval serve bench test clean study paths FORCE
all: vqvae data train judge eval

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

vqvae: $(VQVAE_DIR)/ckpt.pt
$(VQVAE_DIR)/ckpt.pt: $(SETUP) $(VQVAE_CONFIG) $(IMPORT) $(call stage_force,vqvae)
	$(PY) -m vqvae.train $(VQVAE_CONFIG) --out_dir=$(VQVAE_DIR) --init_from=auto $(DATASET_ARG) \
		$(call stage_args,vqvae)

# IMAGES: the folder's pictures decoded once into data/<name>/, as arrays every stage reads (data/folder.py)
ifneq ($(IMAGES),)
import: $(IMPORT)
$(IMPORT): $(SETUP) $(wildcard $(IMAGES)/train $(IMAGES)/test $(IMAGES)/captions.jsonl) $(call stage_force,import)
	$(PY) -m data.folder --images=$(IMAGES) --out_dir=data/$(DATASET) $(if $(SIDE),--side=$(SIDE)) \
		$(call stage_args,import)
endif

data: $(DATA_DIR)/meta.json
$(DATA_DIR)/meta.json: $(VQVAE_DIR)/ckpt.pt $(DATA_CONFIG) $(wildcard data/records/*.py tasks/*.py) \
		$(call stage_force,data)
	$(PY) -m data.records.prepare $(DATA_CONFIG) --vqvae_ckpt=$(VQVAE_DIR)/ckpt.pt --out_dir=$(DATA_DIR) \
		$(call stage_args,data)

# run.json is written when a run finishes: an interrupted run has none, and is resumed. A finished run is never
# replaced by accident: asked again for the same run, train says so and stops; asked for another one in its
# folder, it refuses (ARGS="--force=True" replaces it). The tokenizer alike.
train: $(RUN_DIR)/run.json
$(RUN_DIR)/run.json: $(DATA_DIR)/meta.json $(TRAIN_CONFIG) $(call stage_force,train)
	$(PY) -m nanogpt.train $(TRAIN_CONFIG) --dataset=$(DATA_NAME) --out_dir=$(RUN_DIR) --init_from=auto \
		$(call stage_args,train)

# the judge is trained once per dataset, apart from any VLM run, and reused by every evaluation
judge: $(JUDGE)
$(JUDGE): $(SETUP) $(JUDGE_CONFIG) $(IMPORT)
	$(PY) -m eval.judge $(JUDGE_CONFIG) --out=$(JUDGE) $(DATASET_ARG)

eval: $(RUN_DIR)/eval/report.md
$(RUN_DIR)/eval/report.md: $(RUN_DIR)/run.json $(JUDGE) $(wildcard eval/*.py tasks/*.py) $(call stage_force,eval)
	$(PY) -m eval.report --out_dir=$(RUN_DIR) --judge_ckpt=$(JUDGE) $(call stage_args,eval)

# a local web page over the trained run: draw and have it read, ask for drawings, see the report (127.0.0.1 only);
# it trains nothing: a missing run or judge is one line naming the target that makes it
serve: $(SETUP)
	$(PY) -m eval.serve --out_dir=$(RUN_DIR) --judge_ckpt=$(JUDGE) --port=$(PORT) $(call stage_args,serve)

# timings of this machine, after `make all`: run it with nothing else busy
bench: $(RUN_DIR)/eval/report.md
	$(PY) -m eval.bench --out_dir=$(RUN_DIR) --vqvae_dir=$(VQVAE_DIR) --judge_dir=$(dir $(JUDGE)) \
		--input_runs=$(subst $(space),$(comma),$(foreach m,letters patches cnn frozen,out/$(DATASET)$(ALL)_$(m))) \
		--out=$(RUN_DIR)/bench.json $(call stage_args,bench)

# a study of sweeps/ (docs/studies.md): sweeps/$(NAME).sh, or the Python study sweeps/$(NAME).py with ARGS
study: $(SETUP)
	@if [ -f sweeps/$(NAME).sh ]; then PY=$(PY) SEEDS="$(SEEDS)" DATASET=$(DATASET) TASKS=$(TASKS) \
		IMAGE_INPUT=$(IMAGE_INPUT) bash sweeps/$(NAME).sh; \
	elif [ -f sweeps/$(NAME).py ]; then $(PY) -m sweeps.$(NAME) $(ARGS); \
	else echo "error: no study NAME='$(NAME)'; the studies: $(sort $(basename $(notdir $(wildcard \
		sweeps/*.sh sweeps/[a-z]*.py))))" >&2; exit 2; fi

# the folders and configs of the knobs' run, for studies: eval "$$(make -s paths DATASET=...)"
paths:
	@echo "VQVAE_DIR=$(VQVAE_DIR) DATA_DIR=$(DATA_DIR) DATA_NAME=$(DATA_NAME) RUN_DIR=$(RUN_DIR) JUDGE=$(JUDGE)" \
		"VQVAE_CONFIG='$(VQVAE_CONFIG)' DATA_CONFIG='$(DATA_CONFIG)' TRAIN_CONFIG='$(TRAIN_CONFIG)'"

# the suite spread over the machine's cores (pytest-xdist; at most 4 processes, each with its own session fixtures)
test: $(SETUP)
	$(PY) -m pytest -q -n auto --maxprocesses=4 tests

clean:
	rm -rf $(VQVAE_DIR) $(RUN_DIR) $(RUN_DIR)_seed* $(dir $(JUDGE)) $(DATA_DIR) $(dir $(IMPORT))
