using System.CommandLine;
using CtlHa.Conform;

return await ConformCli.Build().Parse(args).InvokeAsync();
