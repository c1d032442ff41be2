export { createCollector, type Collector, type CollectorOptions } from './collector.js';
