package storetest

func runCases() []contractCase      { return nil }
func messageCases() []contractCase  { return nil }
func outboxCases() []contractCase   { return nil }
func linkCases() []contractCase     { return nil }
func receiptCases() []contractCase  { return nil }
func timerCases() []contractCase    { return nil }
func pacingCases() []contractCase   { return nil }
func flowCases() []contractCase     { return nil }
func nodeCases() []contractCase     { return nil }
func databaseCases() []contractCase { return nil }
