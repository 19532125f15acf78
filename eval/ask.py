"""Ask a trained run about a picture: which label it shows, a caption, or the answer to a question.

    python -m eval.ask --image=path/to/digit.png [--out_dir=out/mnist_letters]
    python -m eval.ask --image=path/to/digit.png --out_dir=out/mnist_cnn      # a run that reads pixels
    python -m eval.ask --image=a.png --out_dir=out/mnist_all_cnn --task=caption    # `make all TASKS=all`
    python -m eval.ask --image=a.png --out_dir=out/mnist_all_cnn --question="is it even?"
    python -m eval.ask --image=a.png --image2=b.png --out_dir=out/mnist_all_cnn --question="what is their sum?"

The run folder loads whole (nanogpt/vlm.py), from wherever it lies: no data/ needed. Any grayscale
or colour picture of at least 28x28 pixels, made into a 28x28 picture the way the dataset's were
(eval/picture.py, the page's too). read gives the likeliest label and its probability among the
labels; --task=caption writes a caption (greedy) and --question answers a question about one picture
or two (--image2), for a run that learnt captions and questions (tasks/caption.py, tasks/question.py);
their templates answer best.
"""
import torch

from common.configurator import configure
from common.runtime import pick_device
from eval.picture import load_digit
from nanogpt.vlm import VLM

# -----------------------------------------------------------------------------
image = ''  # path of a PNG or JPEG of one picture
image2 = ''  # a second picture, for a question about two ('what is their sum?')
task = 'read'  # 'read' (the likeliest label), 'caption' (greedy), or 'question' (set by --question)
question = ''  # a question to answer about the picture(s), e.g. 'is it more than 4?'
out_dir = 'out/mnist_letters'
device = 'auto'
# -----------------------------------------------------------------------------


def main():
    configure(globals())
    if not image:
        raise SystemExit("error: pass the picture to read: python -m eval.ask --image=path/to/digit.png")
    if task not in ('read', 'caption', 'question'):
        raise SystemExit(f"error: --task={task!r}; use read, caption or question")
    if image2 and not question.strip():
        raise SystemExit("error: --image2 is asked about with a question on both pictures, like "
                         "--question='what is their sum?'")
    if task == 'question' and not question.strip():
        raise SystemExit("error: --task=question needs the question: --question='is it even?'")
    vlm = VLM.from_pretrained(out_dir, device=pick_device(device))
    shape = vlm.tokenizer.picture_shape
    digit = load_digit(image, dataset=vlm.vocab['dataset'], shape=shape)
    if question.strip():
        pictures = [digit] + ([load_digit(image2, dataset=vlm.vocab['dataset'], shape=shape)] if image2 else [])
        said = vlm.ask(pictures, question)
    elif task == 'caption':
        said = vlm.caption([digit])[0]
    else:
        probs = torch.softmax(vlm.read_scores(digit[None])[0], 0)  # over the labels only: constrained decoding
        seen = f"letters {vlm.see(digit[None]).texts[0]}" if vlm.image_input == 'letters' else \
            f"read as pixels through '{vlm.image_input}'"
        return print(f"{vlm.vocab['labels'][int(probs.argmax())]}  (p={probs.max():.3f}; {seen})")
    print(said if said is not None else "(no answer ended by '.' within the record length; it wrote past it)")


if __name__ == '__main__':
    main()
