# Every training image in both task forms (classification and generation).
both_forms = True
seed = 1337
