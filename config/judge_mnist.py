# The judge of MNIST's drawings: a small CNN, 2 epochs (about 30 s on 2 cores with AMX, 40 s in float32), never tuned to
# a VLM run.
out = 'out/judge_mnist/ckpt.pt'  # the judge names its dataset
dataset = 'mnist'  # the pictures it reads
epochs = 2  # enough to read the test digits at about 0.99
