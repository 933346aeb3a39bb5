using System.CommandLine;
using CtlHa.Node;

return await CtlHaCli.Build().Parse(args).InvokeAsync();
