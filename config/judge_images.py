# The judge of a folder of one's own pictures (the Makefile names its dataset and checkpoint): the same small CNN,
# trained on the folder's own train split, at least as long as Fashion-MNIST's.
out = 'out/judge_images/ckpt.pt'  # the Makefile names it after the folder: out/judge_<name>/ckpt.pt
epochs = 6  # the epoch that reads validation best is kept
min_steps = 2500  # Fashion-MNIST's 6 epochs: a folder of a few thousand pictures gets more epochs, not fewer steps
