# MNIST's records: the read and draw records of every training picture, plus one shifted and rotated copy of
# each in the read form only (docs/studies.md weighs each choice on the validation digits).
tasks = 'read,draw'  # the tasks whose records are written (tasks/*.py)
labels = 'digits'  # labels written as digits: 'number:7'
both_forms = True  # every picture in every task's form, not one task drawn at random
augment_copies = 1  # copies make reading robust to where and how a digit is drawn
augment_draw = False  # drawing learns from real digits alone: copies would teach it shifted ones
seed = 1337
