/** Trained model versions (issue 13): adapters on a parent's graph and static token-vector models, written into the registry. */
export { ADAPTER_OUTPUT, ADAPTER_WEIGHTS_PATH, buildAdapterOnnx, hasAdapterWeights, readAdapterWeights, writeAdapterModel } from './adapter.ts';
export { nextTrainedVersion, trainedModelName, type TrainedKind, type TrainedLineageInput, type TrainedVersionName } from './publish.ts';
export { buildStaticOnnx, STATIC_OUTPUT, writeStaticModel } from './static.ts';
