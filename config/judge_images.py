# The judge of a folder of one's own pictures (the Makefile names its dataset and checkpoint): the same small CNN,
# trained on the folder's own train split, as long as Fashion-MNIST's.
out = 'out/judge_images/ckpt.pt'  # the Makefile names it after the folder: out/judge_<name>/ckpt.pt
epochs = 6  # the epoch that reads validation best is kept
