# The judge of MNIST: a small CNN, 2 epochs (about 50-80 s on 2 cores), reads the test digits at about 0.99.
out = 'out/judge/ckpt.pt'
dataset = 'mnist'
epochs = 2
