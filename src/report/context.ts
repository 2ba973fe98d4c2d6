export interface ReportContext {
  color: boolean;
  version: string;
  generatedAt: string;
}
