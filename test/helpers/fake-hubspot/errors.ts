import { randomUUID } from "node:crypto";

/** An answer from a route handler. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One entry of HubSpot's `errors` list (ErrorDetail). */
export interface ErrorDetail {
  message: string;
  code?: string;
  context?: Record<string, string[]>;
}

/** A whole-request failure; the server turns it into `status` + `body`. */
export class HubSpotError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>) {
    super(typeof body.message === "string" ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** HubSpot's StandardError body: {status:"error", message, correlationId, category, ...extra}. */
export function errorBody(category: string, message: string, extra: Record<string, unknown> = {}) {
  return { status: "error", message, correlationId: randomUUID(), category, ...extra };
}

export function apiError(
  status: number,
  category: string,
  message: string,
  extra: Record<string, unknown> = {},
): HubSpotError {
  return new HubSpotError(status, errorBody(category, message, extra));
}

export function validationError(message: string, extra: Record<string, unknown> = {}): HubSpotError {
  return apiError(400, "VALIDATION_ERROR", message, extra);
}

/** The body did not deserialize into the documented input type. */
export function badJson(message: string): HubSpotError {
  return validationError(`Invalid input JSON: ${message}`);
}

export function notFound(message: string): HubSpotError {
  return apiError(404, "OBJECT_NOT_FOUND", message);
}

/** A property-level problem, as HubSpot lists them inside "Property values were not valid". */
export interface PropertyProblem {
  name: string;
  code: string;
  message: string;
}

export function propertyValuesMessage(problems: PropertyProblem[]): string {
  const list = problems.map((p) => ({ isValid: false, message: p.message, error: p.code, name: p.name }));
  return `Property values were not valid: ${JSON.stringify(list)}`;
}

export function propertyDetails(problems: PropertyProblem[]): ErrorDetail[] {
  return problems.map((p) => ({ message: p.message, code: p.code, context: { propertyName: [p.name] } }));
}

/** 400 for the whole request (e.g. an unknown property name anywhere in a batch). */
export function propertyValuesError(problems: PropertyProblem[]): HubSpotError {
  return validationError(propertyValuesMessage(problems), { errors: propertyDetails(problems) });
}

/** A per-input failure inside a batch. */
export interface RecordError {
  category: "VALIDATION_ERROR" | "OBJECT_NOT_FOUND" | "CONFLICT" | "OBJECT_ALREADY_EXISTS";
  message: string;
  context: Record<string, string[]>;
  errors?: ErrorDetail[];
  subCategory?: string;
}

export function recordPropertyError(problems: PropertyProblem[], context: Record<string, string[]>) {
  const error: RecordError = {
    category: "VALIDATION_ERROR",
    message: propertyValuesMessage(problems),
    context,
    errors: propertyDetails(problems),
  };
  return error;
}

const CONFLICTS = new Set(["CONFLICT", "OBJECT_ALREADY_EXISTS"]);

/**
 * Assembles a batch answer the way HubSpot does: all good -> `okStatus`; some failed -> 207 with
 * `errors`; every input failed (writes) -> 400, or 409 when every failure is a conflict.
 */
export function batchReply(
  okStatus: number,
  results: unknown[],
  errors: RecordError[],
  startedAt: string,
  options: { wholeFailure: boolean; completedAt: string },
): Reply {
  const { completedAt } = options;
  if (errors.length === 0)
    return { status: okStatus, body: { status: "COMPLETE", results, startedAt, completedAt } };
  if (results.length === 0 && options.wholeFailure) {
    const categories = new Set(errors.map((e) => e.category));
    const only = categories.size === 1 ? errors[0]?.category : undefined;
    const status = only !== undefined && CONFLICTS.has(only) ? 409 : 400;
    const first = errors[0];
    const message =
      errors.length === 1 && first
        ? first.message
        : `All ${errors.length} inputs were invalid: ${first?.message}`;
    const details: ErrorDetail[] = errors.flatMap((e) =>
      (e.errors ?? [{ message: e.message }]).map((d) => ({
        message: d.message,
        code: d.code ?? e.category,
        context: { ...e.context, ...d.context },
      })),
    );
    const extra: Record<string, unknown> = { errors: details };
    if (errors.length === 1 && first) extra.context = first.context;
    return { status, body: errorBody(only ?? "VALIDATION_ERROR", message, extra) };
  }
  return {
    status: 207,
    body: {
      status: "COMPLETE",
      results,
      numErrors: errors.length,
      errors: errors.map((e) => ({ status: "error", ...e })),
      startedAt,
      completedAt,
    },
  };
}
