/** "1 user", "2 users", "1 company" (with its plural given): counts in plain words. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? singular : plural}`;
}
