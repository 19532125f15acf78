# The tiny VQ-VAE, shorter still: the Makefile test checks the stages' wiring, not how well it writes pictures.
hidden = 32
code_dim = 8
max_iters = 40
eval_interval = 20
batch_size = 64
threads = 1
num_codes = 40  # past A-Z: letters from U+0100 take two bytes in UTF-8, as the default's do
dtype = 'float32'  # the same numbers on every machine (auto picks bf16 on a CPU with AMX)
