export { MatrixError, ERRCODE_STATUS, isMatrixError } from './errors.js';
export type { Errcode, MatrixErrorOptions } from './errors.js';
