package postgres

// KeepStatistics runs one pass of the statistics keeper.
var KeepStatistics = keepStatistics
