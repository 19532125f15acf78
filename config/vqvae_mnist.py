# MNIST's tokenizer: a small convolutional VQ-VAE writing each digit as a 4x4 grid of 16 letters from 256 codes
# (U+0100 onwards). About 110 s on 2 cores with AMX (bf16), 150 s in float32; its ceiling is measured in
# docs/studies.md and docs/records.md.
out_dir = 'out/vqvae_mnist'  # the tokenizer names its dataset
dataset = 'mnist'  # the pictures it learns to write
encoder = 'conv'  # a grid of latents keeps the digit's layout, read row by row like text
tokens_per_image = 16  # 4x4: short records, the fastest reading and drawing
num_codes = 256  # more codes keep more of each digit for the judge to read
code_dim = 16  # width of each code vector
res_blocks = 2  # a deeper stack each side of the grid: with the next two, chosen on validation (docs/records.md)
label_term = 1.0  # the codes also learn the label: letters that keep which digit it is, not only how it looks
max_iters = 3000  # steps: the deeper stack and the label term take longer to settle
eval_interval = 3000  # evaluated at the start and the end only: each reads every validation picture
augment = 0.5  # half of each batch moved a little over the first half of the steps: the label wherever the digit sits
augment_until = 0.5  # the second half sees the digits as they are: reconstructions stay as sharp
