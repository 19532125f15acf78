# The records of `make letters49`: the default's reading and drawing records (config/prepare_mnist_vlm.py) on the
# 49-letter tokenizer, with two shifted and rotated copies of every training digit in the reading form instead of
# one (the GPU sweep's 16-letter runs read best with more copies and more steps, README "History").
tasks = 'read,draw'
both_forms = True
augment_copies = 2
augment_generation = False
seed = 1337
