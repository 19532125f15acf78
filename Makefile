# mnist-vlm: make vqvae data train judge eval (or make all); make seeds; make compare; make words; make letters49;
# make letters49-seeds; make mix; make heads; make bench; make serve (PORT=8765); make test. DATASET=fashion_mnist
# runs every stage on Fashion-MNIST, into folders of its own; TASKS=all trains one GPT on every task (reading,
# drawing, grounded captions both ways, questions over one image or two) with data and a run of its own;
# IMAGE_INPUT=letters|patches|cnn|frozen says how the GPT reads pictures (nanogpt/vision.py; the default is letters
# for MNIST, cnn for Fashion-MNIST and for TASKS=all); another input than the default trains a run of its own. Each
# stage skips itself when its output is newer than its inputs. ARGS="--key=value ..." is passed to the stage named on
# the command line (and forces it to run again).
PYTHON      ?= python3
VENV        ?= .venv
PY          ?= $(VENV)/bin/python
SETUP       ?= $(VENV)/.installed
DATASET     ?= mnist
ifeq ($(wildcard config/vqvae_$(DATASET).py),)
$(error unknown DATASET=$(DATASET); use mnist or fashion_mnist (each has config/vqvae_<DATASET>.py))
endif
# how a dataset's default run reads its pictures, chosen on validation (README): MNIST through its letters,
# Fashion-MNIST through the conv net (its letters lose what tells a shirt from a T-shirt), and every task of one
# model (TASKS=all) through the conv net too (its drawings from captions follow its reading)
DEFAULT_INPUT = $(if $(filter fashion_mnist,$(DATASET))$(filter all,$(TASKS)),cnn,letters)
IMAGE_INPUT ?= $(DEFAULT_INPUT)
# the task mix: 'default' (reading and drawing) or 'all' (config/prepare_<DATASET>_all_vlm.py, train_<DATASET>_all_vlm.py)
TASKS       ?= default
ifeq ($(filter $(TASKS),default all),)
$(error unknown TASKS=$(TASKS); use default (reading and drawing) or all (every task))
endif
TASK_SUFFIX  = $(if $(filter all,$(TASKS)),_all)
ifeq ($(wildcard config/prepare_$(DATASET)$(TASK_SUFFIX)_vlm.py),)
$(error TASKS=$(TASKS) has no config for DATASET=$(DATASET) (config/prepare_$(DATASET)$(TASK_SUFFIX)_vlm.py); use DATASET=mnist)
endif
ifeq ($(filter $(IMAGE_INPUT),letters patches cnn frozen),)
$(error unknown IMAGE_INPUT=$(IMAGE_INPUT); use letters, patches, cnn or frozen)
endif
# MNIST keeps the folders it always had; another dataset gets its own: out/vqvae_fashion_mnist, ...
SUFFIX       = $(if $(filter mnist,$(DATASET)),,_$(DATASET))
# the other image inputs share the tokenizer, data and judge, and train a run of their own: out/mnist_vlm_cnn,
# out/fashion_mnist_vlm_letters, ...
mode_dir     = out/$(DATASET)$(TASK_SUFFIX)_vlm$(if $(filter $(DEFAULT_INPUT),$(1)),,_$(1))
# an input's config, then its dataset's own where there is one (config/image_cnn_mnist.py)
IMAGE_CONFIG = $(if $(filter letters,$(IMAGE_INPUT)),,config/image_$(IMAGE_INPUT).py \
	$(wildcard config/image_$(IMAGE_INPUT)_$(DATASET).py))
VQVAE_CONFIG ?= config/vqvae_$(DATASET).py
DATA_CONFIG  ?= config/prepare_$(DATASET)$(TASK_SUFFIX)_vlm.py
TRAIN_CONFIG ?= config/train_$(DATASET)_vlm.py
# TASKS=all: the shares of its task mix, on top of the dataset's training config (and over an input's shares), then
# an input's own where there is one (config/train_mnist_all_vlm_cnn.py)
TASK_CONFIG  = $(if $(TASK_SUFFIX),config/train_$(DATASET)$(TASK_SUFFIX)_vlm.py \
	$(wildcard config/train_$(DATASET)$(TASK_SUFFIX)_vlm_$(IMAGE_INPUT).py))
TRAIN_CONFIGS = $(strip $(TRAIN_CONFIG) $(IMAGE_CONFIG) $(TASK_CONFIG))
JUDGE_CONFIG ?= config/judge_$(DATASET).py
VQVAE_DIR   ?= out/vqvae$(SUFFIX)
DATA_DIR    ?= data/$(DATASET)$(TASK_SUFFIX)_vlm
RUN_DIR     ?= $(call mode_dir,$(IMAGE_INPUT))
JUDGE       ?= out/judge$(SUFFIX)/ckpt.pt
SEEDS       ?= 1338 1339
PORT        ?= 8000
ARGS        ?=
export MNIST_DIR FASHION_MNIST_DIR TINYSHAKESPEARE_DIR
export PYTHONUNBUFFERED = 1

stage_args = $(if $(filter $(1),$(MAKECMDGOALS)),$(ARGS))
stage_force = $(if $(call stage_args,$(1)),FORCE)
# nanoGPT's `dataset`: a folder name under data/, or the absolute path of a folder elsewhere
DATA_NAME = $(patsubst $(CURDIR)/data/%,%,$(abspath $(DATA_DIR)))
SEED_RUNS = $(foreach s,$(SEEDS),$(RUN_DIR)_seed$(s))
empty :=
comma := ,

.PHONY: all vqvae data train judge eval seeds seed-runs compare compare-tasks words letters49 letters49-seeds mix heads \
	bench serve test clean FORCE
all: vqvae data train judge eval

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

vqvae: $(VQVAE_DIR)/ckpt.pt
$(VQVAE_DIR)/ckpt.pt: $(SETUP) $(VQVAE_CONFIG) $(call stage_force,vqvae)
	$(PY) -m vqvae.train $(VQVAE_CONFIG) --out_dir=$(VQVAE_DIR) --init_from=auto $(call stage_args,vqvae)

data: $(DATA_DIR)/meta.json
$(DATA_DIR)/meta.json: $(VQVAE_DIR)/ckpt.pt $(DATA_CONFIG) $(wildcard data/mnist_vlm/*.py) data/attributes.py \
		$(call stage_force,data)
	$(PY) -m data.mnist_vlm.prepare $(DATA_CONFIG) --vqvae_ckpt=$(VQVAE_DIR)/ckpt.pt --out_dir=$(DATA_DIR) $(call stage_args,data)

# run.json is written when a run finishes: an interrupted run has none, and is resumed. A finished run
# is never replaced by accident: asked again for the same run, train says so and stops; asked for
# another one in its folder, it refuses (ARGS="--force=True" replaces it). The tokenizer alike.
train: $(RUN_DIR)/run.json
$(RUN_DIR)/run.json: $(DATA_DIR)/meta.json $(TRAIN_CONFIGS) $(call stage_force,train)
	$(PY) -m nanogpt.train $(TRAIN_CONFIGS) --dataset=$(DATA_NAME) --out_dir=$(RUN_DIR) --init_from=auto \
		$(call stage_args,train)

# the judge is trained once per dataset, apart from any VLM run, and reused by every evaluation
judge: $(JUDGE)
$(JUDGE): $(SETUP) $(JUDGE_CONFIG)
	$(PY) -m eval.judge $(JUDGE_CONFIG) --out=$(JUDGE)

eval: $(RUN_DIR)/eval/report.md
$(RUN_DIR)/eval/report.md: $(RUN_DIR)/run.json $(JUDGE) $(wildcard eval/*.py) $(call stage_force,eval)
	$(PY) -m eval.report --out_dir=$(RUN_DIR) --judge_ckpt=$(JUDGE) $(call stage_args,eval)

# the default run again with other seeds (GPT init and batch order; same data): the spread of the headline
seeds: $(RUN_DIR)/seeds.json
$(RUN_DIR)/seeds.json: $(RUN_DIR)/run.json $(JUDGE) $(addsuffix /run.json,$(SEED_RUNS)) eval/compare.py
	$(PY) -m eval.compare --runs=$(subst $(empty) $(empty),$(comma),$(RUN_DIR) $(SEED_RUNS)) --judge_ckpt=$(JUDGE) --out=$@
$(RUN_DIR)_seed%/run.json: $(DATA_DIR)/meta.json $(TRAIN_CONFIGS)
	$(PY) -m nanogpt.train $(TRAIN_CONFIGS) --dataset=$(DATA_NAME) --out_dir=$(RUN_DIR)_seed$* --seed=$* \
		--init_from=auto

# the validation comparisons behind the README's table: each choice of the default undone, one GPT run
# each (about an hour on 2 cores), ranked on the validation digits; uses the default folders
compare: $(RUN_DIR)/seeds.json
	PY=$(PY) bash sweeps/cpu_validation.sh

# words for labels ('word:seven' for 'number:7'): MNIST's tokenizer and judge, data and a run of their own
words:
	$(MAKE) eval DATA_CONFIG=config/prepare_mnist_words_vlm.py DATA_DIR=data/mnist_words_vlm RUN_DIR=out/mnist_words_vlm

# reading through letters at 0.99: MNIST's tokenizer as a 7x7 grid of 49 letters, its data with two reading copies of
# every training digit, and a longer run of a wider GPT (config/*mnist49*.py); folders of its own, MNIST's judge
LETTERS49 = VQVAE_CONFIG=config/vqvae_mnist49.py VQVAE_DIR=out/vqvae_mnist49 \
	DATA_CONFIG=config/prepare_mnist49_vlm.py DATA_DIR=data/mnist49_vlm \
	TRAIN_CONFIG="$(TRAIN_CONFIG) config/train_mnist49_vlm.py" RUN_DIR=out/mnist49_vlm
letters49:
	$(MAKE) eval $(LETTERS49)
# its spread: the same run with SEEDS besides 1337, then its reading and drawing as mean and spread (make seeds)
letters49-seeds:
	$(MAKE) seeds $(LETTERS49)

# Tiny Shakespeare mixed in: one data folder with text, five runs of the same model and steps: records only;
# records + a fifth, and + a half, of text windows; each text share alone (as many text tokens as its mixed
# run). Compared on validation (reading, drawing, bits per character of held-out Shakespeare); about 36
# minutes on 2 cores
MIX_RUNS = out/mix_vision out/mix_both out/mix_text out/mix_both50 out/mix_text128
mix: out/mix.json
out/mix.json: $(addsuffix /run.json,$(MIX_RUNS)) $(JUDGE)
	$(PY) -m eval.compare --runs=$(subst $(empty) $(empty),$(comma),$(MIX_RUNS)) --judge_ckpt=$(JUDGE) --split=val --out=$@
data/mnist_text_vlm/meta.json: $(VQVAE_DIR)/ckpt.pt config/prepare_mnist_text_vlm.py
	$(PY) -m data.mnist_vlm.prepare config/prepare_mnist_text_vlm.py --vqvae_ckpt=$(VQVAE_DIR)/ckpt.pt --out_dir=data/mnist_text_vlm
out/mix_%/run.json: data/mnist_text_vlm/meta.json config/train_mix_%.py $(TRAIN_CONFIG)
	$(PY) -m nanogpt.train $(TRAIN_CONFIG) config/train_mix_$*.py --dataset=mnist_text_vlm --init_from=auto

# one model or many tasks, at equal CPU time: the default (reading and drawing through letters, 3 seeds: make
# seeds) against the TASKS=all model through letters and that model trained for the default's CPU time, each read
# on the test images (README)
ALL_RUN = out/$(DATASET)_all_vlm_letters
compare-tasks: $(RUN_DIR)/seeds.json
	$(MAKE) --no-print-directory train $(ALL_RUN)_equal/run.json TASKS=all IMAGE_INPUT=letters
	$(PY) -m eval.compare --runs=$(subst $(empty) $(empty),$(comma),$(RUN_DIR) $(SEED_RUNS) $(ALL_RUN)_equal $(ALL_RUN)) \
		--judge_ckpt=$(JUDGE) --out=out/tasks$(SUFFIX).json
$(ALL_RUN)_equal/run.json: $(ALL_RUN)/run.json config/train_$(DATASET)_all_vlm_equal.py
	$(PY) -m nanogpt.train $(TRAIN_CONFIG) config/train_$(DATASET)_all_vlm.py config/train_$(DATASET)_all_vlm_equal.py \
		--dataset=$(DATASET)_all_vlm --out_dir=$(ALL_RUN)_equal --init_from=auto

# each image input (letters, patches, cnn, frozen) trained with SEEDS besides the default seed, then all compared
# on the test images: the head-to-head table of the README (about 70 minutes on 2 cores for MNIST)
HEAD_INPUTS ?= letters patches cnn frozen
HEAD_RUNS = $(foreach m,$(HEAD_INPUTS),$(call mode_dir,$(m)) $(foreach n,$(SEEDS),$(call mode_dir,$(m))_seed$(n)))
heads: $(JUDGE)
	for m in $(HEAD_INPUTS); do $(MAKE) --no-print-directory train seed-runs IMAGE_INPUT=$$m || exit 1; done
	$(PY) -m eval.compare --runs=$(subst $(empty) $(empty),$(comma),$(strip $(HEAD_RUNS))) --judge_ckpt=$(JUDGE) \
		--out=out/heads$(SUFFIX).json
seed-runs: $(addsuffix /run.json,$(SEED_RUNS))

# timings of this machine: run it with nothing else busy
bench: $(RUN_DIR)/eval/report.md
	$(PY) -m eval.bench --out_dir=$(RUN_DIR) --vqvae_dir=$(VQVAE_DIR) --judge_dir=$(dir $(JUDGE)) \
		--input_runs=$(subst $(empty) $(empty),$(comma),$(foreach m,$(HEAD_INPUTS),$(call mode_dir,$(m)))) \
		--out=$(RUN_DIR)/bench.json $(call stage_args,bench)

# a local web page over the trained run: draw and have it read, ask for drawings, see the report (127.0.0.1 only);
# it trains nothing: a missing run or judge is one line naming the target that makes it
serve: $(SETUP)
	$(PY) -m eval.serve --out_dir=$(RUN_DIR) --judge_ckpt=$(JUDGE) --port=$(PORT) $(call stage_args,serve)

# the suite spread over the machine's cores (pytest-xdist; at most 4 processes, each with its own session fixtures)
test: $(SETUP)
	$(PY) -m pytest -q -n auto --maxprocesses=4 tests

clean:
	rm -rf $(VQVAE_DIR) $(RUN_DIR) $(SEED_RUNS) $(dir $(JUDGE)) $(DATA_DIR)/*.bin $(DATA_DIR)/*.txt $(DATA_DIR)/*.npz $(DATA_DIR)/*.npy \
		$(DATA_DIR)/meta.* $(DATA_DIR)/run.json
