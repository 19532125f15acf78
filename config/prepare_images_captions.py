# The records of a folder of one's own pictures with a captions.jsonl: read and draw, and its captions both ways.
tasks = 'read,draw,describe,describe_draw'  # the tasks whose records are written (tasks/*.py)
labels = 'words'  # the folders' names
both_forms = True  # every picture in every task's form (a picture without a caption has no describe records)
augment_copies = 1  # one shifted and rotated copy of each picture, read and describe forms only
augment_draw = False  # drawing learns from real pictures alone
seed = 1337
