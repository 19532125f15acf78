# Fashion-MNIST's CNN run (`make all DATASET=fashion_mnist`), on top of config/image_cnn.py: one vector per picture
# (its reading rows run 25 positions, not 73: PixelGPT cuts the spare placeholders), so a step affords twice the
# rows, 0.8 of them reading. Chosen on the validation images, one run each (seed 1337, this 2-core CPU): 0.9148
# at 2800 steps (593 s) and 0.9095 at 2100 (424 s), against 0.8891 for the grid of 49 vectors in batches of 64
# (487 s); 2400 steps keep the GPT's time of that run.
image_vectors = 1
batch_size = 128
task_mix = 'read:0.8,draw:0.2'
max_iters = 2400
lr_decay_iters = 2400
eval_interval = 1200  # three evaluations, as before
