# The judge of Fashion-MNIST: the same small CNN, trained longer (clothes are harder than digits; the epoch
# that reads validation best is kept), so that it reads the test set at the level of a small CNN (about 0.91+).
out = 'out/judge_fashion_mnist/ckpt.pt'
dataset = 'fashion_mnist'
epochs = 6
