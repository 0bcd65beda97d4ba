"""The `lamina` command: run the examples; summarise, evaluate, report on, convert and serve model files.

    lamina examples                       list the example scripts
    lamina run mnist-cnn --quick          run one (extra arguments go to the script)
    lamina summary model.h5               print a saved model's summary
    lamina predict model.lamina 7.png     the top classes of each image
    lamina evaluate model.keras --data mnist
    lamina report model.lamina --data mnist --out report.html
    lamina convert model.h5 model.lamina  (or model.onnx / model.pt2: an inference export)
    lamina serve model.lamina --port 8501 TF Serving's REST API on 127.0.0.1

`main(argv)` runs it in-process and returns the exit code (0 ok, 1 failure, 2 usage).
"""

from lamina.cli.entry import main

__all__ = ["main"]
