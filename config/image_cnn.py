# The GPT reads each reading record's picture as pixels, through a small conv net trained with it from scratch
# (nanogpt/vision.py); drawing still writes letters. On top of the dataset's train config (the same model and
# steps). Chosen on the validation digits among three 2800-step runs (README): these settings read 0.9923;
# 32 channels (same settings otherwise, but a full-resolution first layer) 0.9915; 64 channels without batch
# norm, full-resolution first layer, a quarter of reading records in letters and no shift 0.9900.
# Fashion-MNIST's default (`make all DATASET=fashion_mnist`), on its validation images, 2800 steps: 0.8891 against
# 0.8668 through letters, drawn with guidance 0.917 against 0.895; tried there too: 4200 steps 0.8930, a fourth
# conv layer 0.8882, the reading answer weighted 30 instead of 10 0.8863, no shift and a tenth of the final
# learning rate 0.8836.
image_input = 'cnn'
encoder_width = 64
letters_share = 0.1  # a tenth of the reading records keep their letters: the 'image:' stream of drawing's guidance
pixel_shift = 1  # each picture read moves by up to a pixel (the letters' copies are shifted and rotated already)
eval_interval = 1400  # three evaluations of all 10,000 validation images, not five: the last is the best in every run above
