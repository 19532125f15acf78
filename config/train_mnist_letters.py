# MNIST read through the tokenizer's 16 letters: the default run of `make all`.
# Every knob of the recipe; chosen on validation pictures (docs/studies.md), its numbers in docs/results.md.
out_dir = 'out/mnist_letters'  # where the run folder goes: the dataset, then the way it reads pictures
dataset = 'mnist_vlm'  # data/<dataset>/: the prepared records (nanoGPT's key)
eval_interval = 700  # each evaluation reads every validation picture: a few per run
eval_iters = 10  # batches averaged for the logged train/val loss
n_layer = 4  # a small GPT: minutes on 2 CPU cores
n_head = 4  # heads of n_embd // n_head dimensions
n_embd = 96  # width of the residual stream
dropout = 0.0  # short runs on plenty of records do not overfit
batch_size = 128  # records per step (a record is one whole example)
learning_rate = 0.003  # high for a small model and a short schedule
answer_weight = 10.0  # a written answer (the label after 'number:') weighs this many plain targets
max_iters = 3400  # steps: the time budget of `make all`
lr_decay_iters = 3400  # the cosine schedule ends with the run
warmup_iters = 100  # a short warmup keeps the first steps stable
min_lr = 0.0003  # a tenth of the peak, as nanoGPT
task_mix = 'read:0.5,draw:0.5'  # half the rows drawing (a third as written): letters that keep the label read early
