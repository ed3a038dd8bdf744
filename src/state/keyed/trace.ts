// The span of a partition's rebuild, the same for every stateful stage: `<stage> rebuild`, with
// the pipeline and the partition, and the exception if it failed.
import { trace, type Span } from '@opentelemetry/api';
import { recordException } from '../../telemetry/batch-trace.ts';

export function traceRebuild<T>(
  stage: string,
  pipeline: string,
  topic: string,
  partition: number,
  rebuild: (span: Span) => Promise<T>,
): Promise<T> {
  // Asked for at each use: tracing may start (or restart, in tests) after this module loads.
  return trace.getTracer('weir').startActiveSpan(`${stage} rebuild`, async (span) => {
    span.setAttributes({
      'weir.pipeline': pipeline,
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': String(partition),
    });
    try {
      return await rebuild(span);
    } catch (err) {
      recordException(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}
