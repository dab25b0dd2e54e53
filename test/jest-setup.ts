// Quiet TensorFlow.js's one-time "install the node backend" banner in tests (PROD mode only skips
// debug logging; results are unchanged).
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
