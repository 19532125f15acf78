# The letters49 study's records: the default's read and draw records (config/prepare_mnist.py) on the 49-letter
# tokenizer, with two shifted and rotated copies of every training digit in the read form instead of one.
tasks = 'read,draw'  # the default's tasks
both_forms = True  # every picture in every task's form
augment_copies = 2  # 16-letter runs read best with more copies and more steps (docs/studies.md)
augment_draw = False  # drawing learns from real digits alone
seed = 1337
