# MNIST's default records (config/prepare_mnist_vlm.py) with Tiny Shakespeare's characters in the vocabulary
# and its ids in text_train.bin / text_val.bin, for `make mix` to mix in at training time.
tasks = 'read,draw'
labels = 'digits'
text = 'shakespeare'
both_forms = True
augment_copies = 1
augment_generation = False
seed = 1337
