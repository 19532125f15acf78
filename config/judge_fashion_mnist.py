# The judge of Fashion-MNIST's drawings: the same small CNN, trained longer (clothes are harder than digits).
out = 'out/judge_fashion_mnist/ckpt.pt'  # the judge names its dataset
dataset = 'fashion_mnist'  # the pictures it reads
epochs = 6  # the epoch that reads validation best is kept: about 0.91+ on the test set, a small CNN's level
