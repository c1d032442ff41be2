declare module 'ml-isolation-forest' {
  export class IsolationForest {
    constructor(options?: { nEstimators?: number });
    train(trainingSet: number[][]): void;
    /** Scores in (0,1): ~0.5 ordinary, towards 1 easy to isolate. */
    predict(data: number[][]): number[];
  }
}
