import '@bolsillo/serve';
