"""The synthesis of ``ps_lbfgs/synthesize.py``, written as a bare plenoptic script.

No harness: import torch and plenoptic, build the PS model, run LBFGS, save the
metamer. ``overhead.py`` times this process against the harness's. The
settings are ps_lbfgs's defaults (max_iter 10, max_eval 10, history 100,
strong Wolfe line search, lr 1, L2 loss, seed 0) on the centre of the built-in
``reptile_skin`` texture. Prints the synthesis seconds and the final loss.
"""

import argparse
import time


class Parser(argparse.ArgumentParser):
    """Errors on one line."""

    def error(self, message):
        """Exit with status 2 and one line."""
        self.exit(2, f"{self.prog}: error: {message}\n")


parser = Parser(description=__doc__)
parser.add_argument("--crop", type=int, default=128)
parser.add_argument("--n_iter", type=int, default=20)
parser.add_argument("--history_size", type=int, default=100)
parser.add_argument("--device", default="cpu")
parser.add_argument("--output", default=None, help="save the metamer here")
args = parser.parse_args()

import plenoptic as po  # noqa: E402
import torch  # noqa: E402

if "OMP_NUM_THREADS" in __import__("os").environ:
    torch.set_num_threads(int(__import__("os").environ["OMP_NUM_THREADS"]))
image = po.data.reptile_skin(as_gray=True).to(torch.float64)
top = (image.shape[-2] - args.crop) // 2
left = (image.shape[-1] - args.crop) // 2
image = image[..., top:top + args.crop, left:left + args.crop].contiguous()
image = image.to(args.device)

model = po.models.PortillaSimoncelli(image.shape[-2:], n_scales=4)
model = model.to(args.device).eval()
po.remove_grad(model)
met = po.Metamer(image, model, loss_function=po.loss.l2_norm)
po.set_seed(0)
met.setup(optimizer=torch.optim.LBFGS,
          optimizer_kwargs={"max_iter": 10, "max_eval": 10,
                            "history_size": args.history_size,
                            "line_search_fn": "strong_wolfe", "lr": 1.0})
if image.is_cuda:
    torch.cuda.synchronize()
start = time.perf_counter()
met.synthesize(max_iter=args.n_iter, stop_criterion=0.0,
               stop_iters_to_check=args.n_iter + 1)
if image.is_cuda:
    torch.cuda.synchronize()
synth = time.perf_counter() - start
if args.output:
    met.save(args.output)
print(f"synth_duration {synth:.4f} loss {float(met.losses[-1]):.10g} "
      f"iterations {len(met.losses) - 1}")
