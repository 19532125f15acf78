# One GPT on every MNIST task, pictures read through the conv net: the default of `make all TASKS=all`.
# Every knob of the recipe; chosen on validation pictures (docs/studies.md), its numbers in docs/results.md.
out_dir = 'out/mnist_all_cnn'  # where the run folder goes: the dataset, then the way it reads pictures
dataset = 'mnist_all_vlm'  # data/<dataset>/: the prepared records (nanoGPT's key)
eval_interval = 1800  # each evaluation reads every validation picture: once, at the end (step 900 read 0.01 lower)
eval_iters = 10  # batches averaged for the logged train/val loss
n_layer = 4  # a small GPT: minutes on 2 CPU cores
n_head = 4  # heads of n_embd // n_head dimensions
n_embd = 96  # width of the residual stream
dropout = 0.0  # short runs on plenty of records do not overfit
batch_size = 128  # records per step (a record is one whole example)
learning_rate = 0.003  # high for a small model and a short schedule
answer_weight = 10.0  # a written answer (a label, a caption, an answer) weighs this many plain targets
max_iters = 1800  # steps: the time budget of `make all`
lr_decay_iters = 1800  # the cosine schedule ends with the run
warmup_iters = 100  # a short warmup keeps the first steps stable
min_lr = 0.0003  # a tenth of the peak, as nanoGPT
image_input = 'cnn'  # how the GPT sees pictures (nanogpt/vision.py)
encoder_width = 64  # channels of the conv encoder
letters_share = 0.1  # reading rows that keep their letters: they teach the 'image:' stream that guides drawing
pixel_shift = 1  # each picture read moves by up to this many pixels (augmentation)
image_vectors = 1  # 1: one vector per picture (short rows); 0: one per cell of the letters' grid
# each task's share of a batch's rows: the tasks learnt last get more
task_mix = 'read:0.2,draw:0.1,caption:0.15,caption_draw:0.3,question:0.25'
