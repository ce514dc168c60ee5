"""Draw the detections of an exported model on an image: plain ONNX Runtime and OpenCV, no OpenMMLab import.

    python tools/deployment/onnx_infer.py IMAGE model.onnx [--out detections.jpg] [--score-thr 0.3]
"""
import argparse
import json

import cv2
import numpy as np
import onnxruntime as ort

parser = argparse.ArgumentParser(description='Detect objects in IMAGE with an exported model')
parser.add_argument('image')
parser.add_argument('model', help='.onnx file of tools/deployment/export_onnx.py (or quantize_onnx.py)')
parser.add_argument('--out', default='detections.jpg', help='image with the boxes drawn (default detections.jpg)')
parser.add_argument('--score-thr', type=float, default=0.3, help='lowest score drawn (default 0.3)')
args = parser.parse_args()
session = ort.InferenceSession(args.model, providers=['CPUExecutionProvider'])
metadata = session.get_modelmeta().custom_metadata_map  # written by export_onnx.py: class names, input format
classes, size = json.loads(metadata['classes']), json.loads(metadata['input_format'])
image = cv2.imread(args.image)  # BGR, 0-255: the model's input format
if image is None:
    raise SystemExit(f'cannot read image {args.image}')
resized = cv2.resize(image, (size['width'], size['height']), interpolation=cv2.INTER_LINEAR)
dets, labels = session.run(None, {'input': resized.transpose(2, 0, 1)[None].astype(np.float32)})
scale = np.array([image.shape[1] / size['width'], image.shape[0] / size['height']] * 2)
for (*box, score), label in zip(dets[0], labels[0]):
    if label >= 0 and score >= args.score_thr:  # rows are best first; label -1 past the detections
        x1, y1, x2, y2 = (np.array(box) * scale).round().astype(int).tolist()
        cv2.rectangle(image, (x1, y1), (x2, y2), (0, 255, 0), 2)
        cv2.putText(image, f'{classes[label]} {score:.2f}', (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 255, 0), 1)
        print(f'{classes[label]} {score:.3f} [{x1}, {y1}, {x2}, {y2}]')
cv2.imwrite(args.out, image)
print(f'{args.out}: {args.image} with the detections of score >= {args.score_thr}')
