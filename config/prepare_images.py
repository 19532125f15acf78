# The records of a folder of one's own pictures: read and draw, labels as the folders' names ('word:ankle boot').
tasks = 'read,draw'  # the tasks whose records are written (tasks/*.py)
labels = 'words'  # the folders' names
both_forms = True  # every picture in every task's form
augment_copies = 1  # one shifted and rotated copy of each picture, read form only
augment_draw = False  # drawing learns from real pictures alone
seed = 1337
