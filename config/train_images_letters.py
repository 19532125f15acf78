# A folder of one's own pictures (`make all IMAGES=path`) read through its tokenizer's letters: Fashion-MNIST's recipe.
# Every knob of the recipe; the Makefile names the run and its data after the folder.
out_dir = 'out/images_letters'  # the Makefile names the run after the folder: out/<name>_letters
dataset = 'images_vlm'  # the Makefile names the data after the folder: data/<name>_vlm
eval_interval = 1400  # each evaluation reads every validation picture: a few per run
eval_iters = 10  # batches averaged for the logged train/val loss
n_layer = 4  # a small GPT: minutes on 2 CPU cores
n_head = 4  # heads of n_embd // n_head dimensions
n_embd = 96  # width of the residual stream
dropout = 0.0  # short runs on plenty of records do not overfit
batch_size = 64  # records per step: its 49-letter records cost twice MNIST's
learning_rate = 0.003  # high for a small model and a short schedule
answer_weight = 10.0  # a written answer (the label after 'number:') weighs this many plain targets
max_iters = 2800  # steps: the time budget of `make all`
lr_decay_iters = 2800  # the cosine schedule ends with the run
warmup_iters = 100  # a short warmup keeps the first steps stable
min_lr = 0.0003  # a tenth of the peak, as nanoGPT
