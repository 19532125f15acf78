# MNIST's CNN run (`make all IMAGE_INPUT=cnn`), on top of config/image_cnn.py: reading records get 0.8 of each
# batch's rows and drawing records 0.2 (the data holds two reading records per drawing one, 0.67). Chosen on the
# validation digits, one run each on one H100 (sweeps/gpu.sh, 2800 steps): 0.9936, against 0.9921, 0.9921 and
# 0.9916 for three seeds of the even draw, and 0.9914 for shifts of up to 2 pixels. Guided drawing read 0.983.
# (Fashion-MNIST's grid of vectors gained nothing from it there, 0.8843 against 0.8831; its one vector per picture
# does, config/image_cnn_fashion_mnist.py. TASKS=all's own mix wins over this.)
task_mix = 'read:0.8,draw:0.2'
# One vector per picture (image_vectors=1: a reading row runs 18 positions, not 33), chosen on the validation
# digits on this 2-core CPU, 2800 steps: 0.9933 in 372 s of GPT, against 0.9934, 0.9926 and 0.9929 (three
# seeds) for a vector per letter in about 420 s.
image_vectors = 1
