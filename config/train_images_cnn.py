# A folder of one's own pictures (`make all IMAGES=path`) read through a conv net: Fashion-MNIST's recipe, the encoder
# pretrained alone, then frozen (docs/results.md: both doors, and the colour shapes).
# Every knob of the recipe; the Makefile names the run and its data after the folder.
out_dir = 'out/images_cnn'  # the Makefile names the run after the folder: out/<name>_cnn
dataset = 'images_vlm'  # the Makefile names the data after the folder: data/<name>_vlm
eval_interval = 1200  # each evaluation reads every validation picture: a few per run
eval_iters = 10  # batches averaged for the logged train/val loss
n_layer = 4  # a small GPT: minutes on 2 CPU cores
n_head = 4  # heads of n_embd // n_head dimensions
n_embd = 96  # width of the residual stream
dropout = 0.0  # short runs on plenty of records do not overfit
batch_size = 128  # records per step (a record is one whole example)
learning_rate = 0.003  # high for a small model and a short schedule
answer_weight = 10.0  # a written answer (the label after 'number:') weighs this many plain targets
max_iters = 1200  # GPT steps, after the encoder's own: the time budget of `make all`
lr_decay_iters = 1200  # the cosine schedule ends with the run
warmup_iters = 100  # a short warmup keeps the first steps stable
min_lr = 0.0003  # a tenth of the peak, as nanoGPT
image_input = 'cnn'  # how the GPT sees pictures (nanogpt/vision.py)
encoder_width = 64  # channels of the conv encoder
letters_share = 0.1  # reading rows that keep their letters: they teach the 'image:' stream that guides drawing
pixel_shift = 1  # each picture read moves by up to this many pixels (augmentation)
image_vectors = 1  # 1: one vector per picture (short rows); 0: one per cell of the letters' grid
encoder_iters = 6000  # the encoder first learns the labels alone (a sixth of a GPT step each), then reads frozen
encoder_epochs = 60  # ... or 60 passes if fewer: Fashion-MNIST's 54,000 stop at 6000 steps, 6,300 shapes at 2954
task_mix = 'read:0.2,draw:0.8'  # each task's share of a batch's rows: the pretrained encoder reads, drawing learns
