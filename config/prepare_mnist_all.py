# Every task of one model (`make all TASKS=all`): read and draw as in the default, captions both ways and
# templated questions over one picture or two (tasks/caption.py, tasks/caption_draw.py, tasks/question.py).
tasks = 'read,draw,caption,caption_draw,question'  # every task of tasks/
labels = 'digits'  # labels written as digits: 'number:7'
both_forms = True  # each training picture writes one record of each task (a random phrasing, a random question)
augment_copies = 1  # a shifted and rotated copy of each picture writes the reading ones (read, caption, question)
augment_draw = False  # drawing learns from real digits alone
question_work = True  # sums and comparisons answered after their working ('5+7=12'): a small model adds what it wrote
seed = 1337
