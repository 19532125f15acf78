# The blog's tokenizer (seed 000): an MLP encoder writing each digit as 8 letters from a 26-code book.
out_dir = 'out/vqvae_mnist_blog'  # the tokenizer names its dataset
dataset = 'mnist'  # the pictures it learns to write
encoder = 'mlp'  # the blog's design: any number of letters, no grid
tokens_per_image = 8  # the blog's 8 letters a digit
num_codes = 26  # A-Z in the blog
code_dim = 16  # width of each code vector
max_iters = 2000  # the blog's schedule
